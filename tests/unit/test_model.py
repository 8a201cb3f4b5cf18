"""The model's graph maths against dense numpy references, and mini-batch == full graph."""
from __future__ import annotations

import dgl
import numpy as np
import pytest
import scipy.sparse as sp
import torch

from mllmrec.train.baselines import LightGCN
from mllmrec.train.bpr import BPRSampler, negative_pool
from mllmrec.train.data import normalised_item_graph, user_item_graph
from mllmrec.train.model import MLLMRec, frozen_item_input, propagate


def _random_item_graph(rng, n, n_edges):
    src = rng.integers(0, n, n_edges)
    dst = rng.integers(0, n, n_edges)
    w = rng.random(n_edges)
    # a few duplicated rows (an edge in both G_s and G_c) and self loops
    src = np.concatenate([src, src[:5], np.arange(10)])
    dst = np.concatenate([dst, dst[:5], np.arange(10)])
    w = np.concatenate([w, np.ones(5), np.ones(10)])
    return src, dst, w


def test_item_propagation_matches_dense_reference():
    rng = np.random.default_rng(1)
    n, f = 40, 6
    src, dst, w = _random_item_graph(rng, n, 150)
    g = np.zeros((n, n))
    np.add.at(g, (src, dst), w)
    d = g.sum(axis=1)
    inv = np.where(d > 0, 1 / np.sqrt(np.where(d > 0, d, 1)), 0)
    a = inv[:, None] * g * inv[None, :]
    e = rng.normal(size=(n, f))
    expected = e + a @ e + a @ a @ e
    got = propagate(normalised_item_graph(src, dst, w, n), torch.tensor(e, dtype=torch.float32), 2)
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-5, atol=1e-5)


def test_lightgcn_matches_dense_reference():
    rng = np.random.default_rng(2)
    m, n, dim = 15, 12, 4
    r = (rng.random((m, n)) < 0.3).astype(float)
    r[0] = 0  # a user without training items
    adj = np.block([[np.zeros((m, m)), r], [r.T, np.zeros((n, n))]])
    deg = adj.sum(axis=1)
    inv = np.where(deg > 0, 1 / np.sqrt(np.where(deg > 0, deg, 1)), 0)
    a = inv[:, None] * adj * inv[None, :]
    model = LightGCN(m, n, user_item_graph(sp.csr_matrix(r)), dim, n_ui_layers=2)
    x = torch.cat([model.user_emb.weight, model.item_emb.weight]).detach().numpy().astype(float)
    expected = (x + a @ x + a @ a @ x) / 3
    u, i = model.all_repr()
    np.testing.assert_allclose(torch.cat([u, i]).detach().numpy(), expected, rtol=1e-5, atol=1e-6)


def _dense_a(src, dst, w, n):
    g = np.zeros((n, n))
    np.add.at(g, (src, dst), w)
    d = g.sum(axis=1)
    inv = np.where(d > 0, 1 / np.sqrt(np.where(d > 0, d, 1)), 0)
    return inv[:, None] * g * inv[None, :]


def _model_pair(ui=None):
    rng = np.random.default_rng(3)
    n, m, f = 300, 50, 16
    src, dst, w = _random_item_graph(rng, n, 2000)
    g = normalised_item_graph(src, dst, w, n)
    item_feat = torch.tensor(rng.normal(size=(n, f)), dtype=torch.float32)
    user_feat = torch.tensor(rng.normal(size=(m, f)), dtype=torch.float32)
    torch.manual_seed(0)
    model = MLLMRec(item_feat, user_feat, m, dim=8, ii_graph=g, n_ii_layers=2, ui_graph=ui)
    return model, (src, dst, w, item_feat.numpy().astype(float)), n, m


def test_frozen_product_is_computed_once_and_equals_the_dense_reference():
    """A.E is computed once on the CPU when the model is built and kept as a plain tensor
    (no graph in the model): it equals E + A E + A^2 E computed densely here."""
    model, (src, dst, w, e), n, _ = _model_pair()
    a = _dense_a(src, dst, w, n)
    np.testing.assert_allclose(model.item_input.numpy(), e + a @ e + a @ a @ e, rtol=1e-5, atol=1e-5)
    assert not any(isinstance(v, dgl.DGLGraph) for v in vars(model).values())
    np.testing.assert_allclose(frozen_item_input(torch.tensor(e, dtype=torch.float32), None, 2).numpy(),
                               e, rtol=1e-6)


def test_ui_gcn_variant_adds_normalised_propagation():
    rng = np.random.default_rng(4)
    r = (rng.random((50, 300)) < 0.05).astype(float)
    ui = user_item_graph(sp.csr_matrix(r))
    plain, _, n, m = _model_pair()
    with_ui, _, _, _ = _model_pair(ui=ui)
    with torch.no_grad():
        hu, hi = plain.all_repr()
        h = torch.cat([hu, hi]).numpy().astype(float)
        x = h / np.linalg.norm(h, axis=1, keepdims=True)
        adj = np.block([[np.zeros((m, m)), r], [r.T, np.zeros((n, n))]])
        deg = adj.sum(axis=1)
        inv = np.where(deg > 0, 1 / np.sqrt(np.where(deg > 0, deg, 1)), 0)
        a = inv[:, None] * adj * inv[None, :]
        expected = h + x + a @ x + a @ a @ x
        u, i = with_ui.all_repr()
        np.testing.assert_allclose(torch.cat([u, i]).numpy(), expected, atol=1e-5)


def test_bpr_negatives_are_never_training_items():
    rng = np.random.default_rng(6)
    dense = rng.random((30, 12)) < 0.6
    dense[:, 0] = False  # every user has at least one allowed item
    sampler = BPRSampler(sp.csr_matrix(dense), seed=0)
    count = 0
    for _ in range(5):
        for u, p, q in sampler.epoch(64):
            u, p, q = u.numpy(), p.numpy(), q.numpy()
            assert dense[u, p].all()
            assert not dense[u, q].any()
            count += len(u)
    assert count == 5 * dense.sum()
    # uniform over the allowed items: 30,000 draws for one user, each allowed item ~ equally often
    user = int(np.argmax(dense.sum(axis=1) < 8))
    draws = sampler.negatives(np.full(30_000, user))
    counts = np.bincount(draws, minlength=12)
    allowed = ~dense[user]
    assert (counts[~allowed] == 0).all()
    expected = 30_000 / allowed.sum()
    assert np.abs(counts[allowed] / expected - 1).max() < 0.1


def test_negative_pool_all_is_every_item_interacted_only_trained_items():
    """The pool of train.negatives: 'all' = every item index; 'interacted' = the items with
    at least one training interaction (columns with a nonzero), computed here by hand."""
    dense = np.zeros((4, 7), dtype=bool)
    dense[0, [1, 3]] = dense[1, 3] = dense[2, [3, 5]] = True  # items 0, 2, 4, 6 untrained
    train = sp.csr_matrix(dense)
    np.testing.assert_array_equal(negative_pool(train, "all"), np.arange(7))
    np.testing.assert_array_equal(negative_pool(train, "interacted"), [1, 3, 5])
    with pytest.raises(ValueError, match="unknown negative pool"):
        negative_pool(train, "popular")


def test_interacted_negatives_are_uniform_over_trained_items_only():
    rng = np.random.default_rng(7)
    dense = rng.random((40, 20)) < 0.3
    dense[:, 15:] = False  # five items nobody trained on (cold items)
    sampler = BPRSampler(sp.csr_matrix(dense), seed=1, pool="interacted")
    trained = dense.any(axis=0)
    for u, _, q in sampler.epoch(32):
        assert trained[q.numpy()].all() and not dense[u.numpy(), q.numpy()].any()
    user = int(np.argmin(dense[:, :15].sum(axis=1)))
    draws = sampler.negatives(np.full(30_000, user))
    allowed = trained & ~dense[user]
    counts = np.bincount(draws, minlength=20)
    assert (counts[~allowed] == 0).all()
    assert np.abs(counts[allowed] / (30_000 / allowed.sum()) - 1).max() < 0.1
    # a user who trained on every trained item has no negative in that pool
    full = dense.copy()
    full[0, :15] = True
    with pytest.raises(ValueError, match="every item of the negative pool"):
        BPRSampler(sp.csr_matrix(full), seed=1, pool="interacted")


def test_all_pool_draws_as_before():
    """pool 'all' draws the same negatives as the former sampler (rng.integers over every
    item): seeded runs of earlier versions repeat."""
    dense = np.random.default_rng(8).random((30, 12)) < 0.4
    users = np.arange(30).repeat(10)
    got = BPRSampler(sp.csr_matrix(dense), seed=3).negatives(users)
    rng = np.random.default_rng(3)
    neg = rng.integers(0, 12, size=len(users))
    bad = dense[users, neg]
    while bad.any():
        neg[bad] = rng.integers(0, 12, size=int(bad.sum()))
        bad[bad] = dense[users[bad], neg[bad]]
    np.testing.assert_array_equal(got, neg)
