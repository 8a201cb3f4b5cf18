"""The hybrid model (mllmrec/train/hybrid.py) against a hand-written numpy forward pass on a
tiny graph: MLLMRec's towers (item-item propagation, two LeakyReLU MLPs) plus LightGCN's mean
over layers of the masked ID embeddings; entities without training interactions keep exactly
their text score."""
from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from mllmrec.config import Settings
from mllmrec.errors import ConfigError
from mllmrec.train.data import TrainData, normalised_item_graph, user_item_graph
from mllmrec.train.hybrid import Hybrid
from mllmrec.train.registry import MODELS, model_needs

M, N, F, D = 7, 9, 5, 3


def _dense_norm(adj: np.ndarray) -> np.ndarray:
    deg = adj.sum(axis=1)
    inv = np.where(deg > 0, 1 / np.sqrt(np.where(deg > 0, deg, 1)), 0)
    return inv[:, None] * adj * inv[None, :]


def _mlp(x: np.ndarray, seq: torch.nn.Sequential) -> np.ndarray:
    w1, b1 = (t.detach().numpy().astype(np.float64) for t in (seq[0].weight, seq[0].bias))
    w2, b2 = (t.detach().numpy().astype(np.float64) for t in (seq[2].weight, seq[2].bias))
    h = x @ w1.T + b1
    h = np.where(h > 0, h, 0.01 * h)  # LeakyReLU, default slope
    return h @ w2.T + b2


@pytest.fixture()
def tiny():
    rng = np.random.default_rng(11)
    r = (rng.random((M, N)) < 0.4).astype(np.float64)
    r[:, 7:] = 0  # items 7 and 8: no training interaction (cold)
    r[6] = 0  # user 6: no training interaction (a new user)
    r[0, 0] = r[1, 1] = 1
    src = np.array([0, 1, 2, 3, 7, 8, 4])
    dst = np.array([1, 0, 7, 8, 2, 3, 5])
    w = np.array([1.0, 1.0, 1.0, 0.3, 1.0, 1.0, 0.5])
    e = rng.normal(size=(N, F))
    p = rng.normal(size=(M, F))
    torch.manual_seed(3)
    model = Hybrid(torch.tensor(e, dtype=torch.float32), torch.tensor(p, dtype=torch.float32),
                   user_item_graph(sp.csr_matrix(r)), dim=D,
                   ii_graph=normalised_item_graph(src, dst, w, N), n_ii_layers=1, n_ui_layers=2)
    g = np.zeros((N, N))
    np.add.at(g, (src, dst), w)
    return model, r, _dense_norm(g), e, p


def _reference(model: Hybrid, r: np.ndarray, a_ii: np.ndarray, e: np.ndarray, p: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """h = [t_U; t_I] + mean_{l=0..2} Â^l [m X], in numpy."""
    t_i = _mlp(e + a_ii @ e, model.item_mlp)
    t_u = _mlp(p, model.user_mlp)
    adj = np.block([[np.zeros((M, M)), r], [r.T, np.zeros((N, N))]])
    a = _dense_norm(adj)
    m = (adj.sum(axis=1) > 0).astype(np.float64)[:, None]
    x = m * np.concatenate([model.user_id_emb.weight.detach().numpy(),
                            model.item_id_emb.weight.detach().numpy()]).astype(np.float64)
    z = (x + a @ x + a @ a @ x) / 3
    return np.concatenate([t_u, t_i]) + z, t_u, t_i


def test_hybrid_equals_the_numpy_forward(tiny):
    model, r, a_ii, e, p = tiny
    want, t_u, t_i = _reference(model, r, a_ii, e, p)
    with torch.no_grad():
        u, i = model.all_repr()
        got = torch.cat([u, i]).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    # entities without training interactions: ID part exactly zero, the text tower alone
    np.testing.assert_allclose(i[7:].numpy(), t_i[7:], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(u[6].numpy(), t_u[6], rtol=1e-5, atol=1e-6)
    # warm ones do get an ID part
    assert np.abs(got[:6] - t_u[:6]).max() > 1e-3
    # scores of a BPR batch are those of all_repr
    users, pos, neg = torch.tensor([0, 6, 3]), torch.tensor([1, 7, 2]), torch.tensor([8, 0, 4])
    with torch.no_grad():
        bu, bp, bn = model(users, pos, neg)
    np.testing.assert_allclose(bu.numpy(), want[users.numpy()], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(bn.numpy(), want[M + neg.numpy()], rtol=1e-5, atol=1e-6)


def test_a_batch_has_the_values_and_gradients_of_indexing_every_row(tiny):
    """The batch path runs the towers on the batch's distinct entities only; a BPR step
    through it must move every parameter exactly as one through ``all_repr`` does."""
    model = tiny[0]
    users, pos, neg = torch.tensor([0, 6, 3, 0]), torch.tensor([1, 7, 2, 1]), torch.tensor([8, 0, 4, 5])

    def step(batch):
        model.zero_grad()
        u, p, q = batch(users, pos, neg)
        (-(torch.nn.functional.logsigmoid((u * p).sum(-1) - (u * q).sum(-1))).mean()).backward()
        return [t.detach().clone() for t in (u, p, q)], {
            n: w.grad.clone() for n, w in model.named_parameters() if w.grad is not None}

    def every_row(users, pos, neg):
        u, i = model.all_repr()
        return u[users], i[pos], i[neg]

    fast, fast_grads = step(model)
    full, full_grads = step(every_row)
    for a, b in zip(fast, full):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)
    assert fast_grads.keys() == full_grads.keys() and len(full_grads) == 10  # 2 MLPs, 2 tables
    for name, grad in full_grads.items():
        torch.testing.assert_close(fast_grads[name], grad, rtol=1e-5, atol=1e-6)


def test_cold_id_rows_never_get_a_gradient(tiny):
    """A BPR step that uses a cold item as a negative moves no ID row of it: m = 0."""
    model = tiny[0]
    u, p, q = model(torch.tensor([0, 1]), torch.tensor([0, 1]), torch.tensor([7, 8]))
    (-(u * p).sum() + (u * q).sum()).backward()
    grad = model.item_id_emb.weight.grad
    assert grad is not None and grad[7:].abs().sum() == 0 and grad[:7].abs().sum() > 0
    assert model.item_mlp[0].weight.grad.abs().sum() > 0  # the text tower still learns


def test_registered_with_its_needs_and_settings_guard():
    ts = Settings().with_overrides({"train.model": "hybrid"}).train
    assert MODELS["hybrid"] is Hybrid
    needs = model_needs(ts)
    assert (needs.item_features, needs.user_features, needs.item_graph, needs.ui_graph) == (
        True, True, True, True)
    assert needs.neighbour_sampling and needs.graph_on_device
    for bad in ({"train.ui_gcn": True}, {"train.use_user_pref": False}):
        with pytest.raises(ConfigError, match="hybrid"):
            Settings().with_overrides({"train.model": "hybrid", **bad})
    data = TrainData("d", [f"u{k}" for k in range(M)], [f"i{k}" for k in range(N)],
                     {0: sp.csr_matrix((M, N)), 1: sp.csr_matrix((M, N)), 2: sp.csr_matrix((M, N))})
    with pytest.raises(Exception, match="text features"):
        Hybrid.from_data(data, ts)
