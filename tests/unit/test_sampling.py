"""Neighbour-sampled mini-batch training (mllmrec/train/neighbour_sampling.py) against full-graph
propagation: with a full fanout, scores and a few training steps agree within 1e-5."""
from __future__ import annotations

import dgl
import numpy as np
import pytest
import scipy.sparse as sp
import torch
import torch.nn.functional as F

from mllmrec.train.baselines import LightGCN
from mllmrec.train.data import user_item_graph
from mllmrec.train.determinism import cpu_threads
from mllmrec.train.hybrid import Hybrid
from mllmrec.train.model import MLLMRec
from mllmrec.train.neighbour_sampling import SampledTraining, node_rows

M, N = 60, 80


def _train_matrix(seed: int = 5) -> sp.csr_matrix:
    rng = np.random.default_rng(seed)
    r = (rng.random((M, N)) < 0.08).astype(np.float32)
    r[np.arange(M), rng.integers(0, N, M)] = 1  # every user has a training item
    return sp.csr_matrix(r)


def _lightgcn() -> LightGCN:
    torch.manual_seed(0)
    return LightGCN(M, N, user_item_graph(_train_matrix()), dim=8, n_ui_layers=2)


def _ui_mllmrec() -> MLLMRec:
    torch.manual_seed(0)
    rng = np.random.default_rng(6)
    item_feat = torch.tensor(rng.normal(size=(N, 12)), dtype=torch.float32)
    user_feat = torch.tensor(rng.normal(size=(M, 12)), dtype=torch.float32)
    return MLLMRec(item_feat, user_feat, M, dim=8, ii_graph=None, ui_graph=user_item_graph(_train_matrix()),
                   n_ui_layers=2)


def _hybrid() -> Hybrid:
    torch.manual_seed(0)
    rng = np.random.default_rng(6)
    item_feat = torch.tensor(rng.normal(size=(N, 12)), dtype=torch.float32)
    user_feat = torch.tensor(rng.normal(size=(M, 12)), dtype=torch.float32)
    return Hybrid(item_feat, user_feat, user_item_graph(_train_matrix()), dim=8, ii_graph=None,
                  n_ui_layers=2)


def _batch(seed: int = 7, n: int = 40) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return (torch.randint(0, M, (n,), generator=g), torch.randint(0, N, (n,), generator=g),
            torch.randint(0, N, (n,), generator=g))


def _dense_lightgcn(model: LightGCN) -> np.ndarray:
    """Independent reference: mean over layers of dense normalised adjacency powers."""
    r = _train_matrix().toarray().astype(np.float64)
    adj = np.block([[np.zeros((M, M)), r], [r.T, np.zeros((N, N))]])
    deg = adj.sum(axis=1)
    inv = np.where(deg > 0, 1 / np.sqrt(np.where(deg > 0, deg, 1)), 0)
    a = inv[:, None] * adj * inv[None, :]
    x = torch.cat([model.user_emb.weight, model.item_emb.weight]).detach().numpy().astype(np.float64)
    return (x + a @ x + a @ a @ x) / 3


@pytest.mark.parametrize("make", [_lightgcn, _ui_mllmrec, _hybrid], ids=["lightgcn", "ui-gcn", "hybrid"])
def test_full_fanout_batch_equals_full_graph(make):
    model = make()
    sampled = SampledTraining(model, fanout=-1)
    users, pos, neg = _batch()
    with torch.no_grad():
        full = model(users, pos, neg)
        got = sampled(users, pos, neg)
    for f, s in zip(full, got):
        np.testing.assert_allclose(s.numpy(), f.numpy(), atol=1e-5)
    if isinstance(model, LightGCN):  # and both equal the dense reference
        ref = _dense_lightgcn(model)
        np.testing.assert_allclose(got[0].numpy(), ref[users.numpy()], atol=1e-5)
        np.testing.assert_allclose(got[2].numpy(), ref[M + neg.numpy()], atol=1e-5)


@pytest.mark.parametrize("make", [_lightgcn, _ui_mllmrec, _hybrid], ids=["lightgcn", "ui-gcn", "hybrid"])
def test_full_fanout_training_equals_full_graph_training(make):
    """Five Adam steps on the same batches: the sampled model ends where the full-graph one does."""
    full_model, sampled_model = make(), make()
    if make is _hybrid:
        # h_i = MLP_i(e_i) + z_i: the output bias of MLP_i adds u.b to the positive and the
        # negative score alike, so its true BPR gradient is exactly 0 and Adam would turn the
        # two modes' different rounding noise (~1e-9) into lr-sized steps. Frozen here.
        for m in (full_model, sampled_model):
            m.item_mlp[2].bias.requires_grad_(False)
    with torch.no_grad():
        before = full_model.all_repr()
    sampled = SampledTraining(sampled_model, fanout=-1)
    opts = [torch.optim.Adam([p for p in m.parameters() if p.requires_grad], lr=1e-2)
            for m in (full_model, sampled)]
    for step in range(5):
        batch = _batch(seed=step)
        for fwd, opt in zip((full_model, sampled), opts):
            u, p, q = fwd(*batch)
            loss = -F.logsigmoid((u * p).sum(-1) - (u * q).sum(-1)).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
    with torch.no_grad():
        for a, b, start in zip(full_model.all_repr(), sampled_model.all_repr(), before):
            np.testing.assert_allclose(b.numpy(), a.numpy(), atol=1e-5)
            assert not np.allclose(a.numpy(), start.numpy(), atol=1e-3)  # training moved them


def test_small_fanout_samples_fewer_nodes_and_stays_unbiased_in_scale():
    model = _lightgcn()
    users, pos, neg = _batch()
    full_nodes = SampledTraining(model, -1).blocks.sample(torch.unique(users))[0]
    small_nodes = SampledTraining(model, 1).blocks.sample(torch.unique(users))[0]
    assert len(small_nodes) < len(full_nodes)
    torch.manual_seed(1)
    dgl.seed(1)  # the draws are DGL's, and they depend on its thread split: one thread
    with torch.no_grad(), cpu_threads(1):
        draws = torch.stack([SampledTraining(model, 1)(users, pos, neg)[0] for _ in range(100)])
        exact = model(users, pos, neg)[0]
    assert not torch.allclose(draws[0], exact, atol=1e-4)  # one draw is an approximation ...
    assert torch.allclose(draws.mean(0), exact, atol=0.03)  # ... whose average is the exact value


def test_node_rows_follow_node_order():
    nodes = torch.tensor([M + 3, 1, M, 0])
    got = node_rows(nodes, M, lambda u: u[:, None].float(), lambda i: 1000 + i[:, None].float())
    assert got.flatten().tolist() == [1003, 1, 1000, 0]


def test_refuses_models_without_user_item_graph_and_bad_fanout():
    model = MLLMRec(torch.zeros(N, 4), torch.zeros(M, 4), M, dim=4)
    with pytest.raises(ValueError, match="user-item graph"):
        SampledTraining(model)
    with pytest.raises(ValueError, match="fanout"):
        SampledTraining(_lightgcn(), fanout=0)
