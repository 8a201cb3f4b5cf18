"""bench/train_speed.py: its references do the same work as the trainer's code (same
numbers), and the measuring function returns the rows the scale benchmark reads."""
from __future__ import annotations

import numpy as np
import torch

from bench.train_speed import (
    measure_training_speed,
    normalised_adjacency_csr,
    reference_bpr_epoch,
    reference_evaluation,
    reference_hybrid_batch,
    reference_lightgcn,
    synthetic_train_data,
)
from mllmrec.config import TrainSettings
from mllmrec.train.baselines import BPRMF, LightGCN
from mllmrec.train.bpr import BPRSampler
from mllmrec.train.data import VALID
from mllmrec.train.hybrid import Hybrid
from mllmrec.train.metrics import top_k
from mllmrec.train.trainer import train_epoch


def _data():
    return synthetic_train_data(4_000, seed=3)


def test_synthetic_data_is_split_and_featured():
    data = _data()
    total = sum(m.nnz for m in data.splits.values())
    assert 3_900 <= total <= 4_000 and data.train.nnz > 0.7 * total
    assert data.item_feat.shape == (data.n_items, 384) and data.user_feat.shape == (data.n_users, 384)
    assert (data.train.multiply(data.splits[VALID]).nnz == 0)


def test_lightgcn_reference_equals_the_model():
    data = _data()
    torch.manual_seed(0)
    model = LightGCN(data.n_users, data.n_items, data.ui_graph, dim=8, n_ui_layers=2)
    x = torch.cat([model.user_emb.weight, model.item_emb.weight]).detach()
    expected = reference_lightgcn(normalised_adjacency_csr(data.train), x, 2)
    u, i = model.all_repr()
    np.testing.assert_allclose(torch.cat([u, i]).detach().numpy(), expected.numpy(), atol=1e-6)


def test_hybrid_reference_equals_the_model_on_a_batch():
    data = _data()
    torch.manual_seed(0)
    model = Hybrid.from_data(data, TrainSettings(model="hybrid", dim=8, n_ii_layers=0))
    u, p, q = next(iter(BPRSampler(data.train, seed=5).epoch(256)))
    with torch.no_grad():
        want = reference_hybrid_batch(model, normalised_adjacency_csr(data.train), u, p, q)
        for got, ref in zip(model(u, p, q), want):
            np.testing.assert_allclose(got.numpy(), ref.numpy(), rtol=1e-5, atol=1e-6)


def test_bpr_reference_runs_the_same_batches_as_the_trainer():
    """Same initial weights, same seeded batches, same Adam: identical weights after an epoch."""
    data = _data()
    torch.manual_seed(0)
    model = BPRMF(data.n_users, data.n_items, dim=8)
    user_w = model.user_emb.weight.detach().clone().requires_grad_()
    item_w = model.item_emb.weight.detach().clone().requires_grad_()
    batches = list(BPRSampler(data.train, seed=5).epoch(256))
    reference_bpr_epoch(user_w, item_w, batches, lr=1e-3)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    train_epoch(model, BPRSampler(data.train, seed=5), opt, 256, torch.device("cpu"))
    np.testing.assert_allclose(model.user_emb.weight.detach().numpy(), user_w.detach().numpy(), atol=1e-6)
    np.testing.assert_allclose(model.item_emb.weight.detach().numpy(), item_w.detach().numpy(), atol=1e-6)


def test_evaluation_reference_finds_the_same_top_items():
    data = _data()
    gen = torch.Generator().manual_seed(1)
    u, i = torch.randn(data.n_users, 8, generator=gen), torch.randn(data.n_items, 8, generator=gen)
    held = data.splits[VALID]
    got = reference_evaluation(u, i, data.train, held, 20, batch_size=10_000)
    users = np.flatnonzero(np.diff(held.indptr) > 0)
    scores = u[torch.from_numpy(users)] @ i.T
    seen = data.train[users].tocoo()
    scores[torch.from_numpy(seen.row).long(), torch.from_numpy(seen.col).long()] = -torch.inf
    assert torch.equal(torch.sort(got, dim=1).values, torch.sort(top_k(scores, 20), dim=1).values)


def test_measure_returns_the_four_rows():
    rows = measure_training_speed(_data(), TrainSettings(dim=8, batch_size=512), repeats=1)
    assert [r["stage"] for r in rows] == ["evaluation", "bpr_epoch", "lightgcn_propagation",
                                          "hybrid_batches"]
    for r in rows:
        assert r["seconds"] > 0 and r["reference_seconds"] > 0
        assert r["ratio"] == r["seconds"] / r["reference_seconds"]
