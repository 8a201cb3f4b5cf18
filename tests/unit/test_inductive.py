"""Inductive vectors (``refresh``) without a database: sparse rows of sum_l A^l against dense
numpy; the text towers of a model rebuilt from its weights equal what the trained model computes
for an item or user without user-item edges (plain MLLMRec and the UI-GCN variant, where the
trained model's full propagation is the reference); the row merge of the incremental semantic
graph follows the build's top-k rule."""
from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from mllmrec.config import TrainSettings
from mllmrec.graph.incremental import merge_row
from mllmrec.train.data import normalised_adjacency, normalised_item_graph, user_item_graph
from mllmrec.train.inductive import propagated_rows
from mllmrec.train.model import MLLMRec
from mllmrec.train.registry import MODELS


def _graph(rng: np.random.Generator, n: int, m: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return rng.integers(0, n, m), rng.integers(0, n, m), rng.random(m) + 0.1


@pytest.mark.parametrize("layers", [0, 1, 2, 3])
def test_propagated_rows_equal_dense_powers(layers):
    rng = np.random.default_rng(layers)
    n = 40
    src, dst, w = _graph(rng, n, 150)
    a = normalised_adjacency(src, dst, w, n)
    # independent dense A = D^-1/2 G D^-1/2
    g = np.zeros((n, n))
    np.add.at(g, (src, dst), w)
    d = g.sum(axis=1)
    inv = np.where(d > 0, 1 / np.sqrt(np.where(d > 0, d, 1)), 0.0)
    dense = inv[:, None] * g * inv[None, :]
    total = sum(np.linalg.matrix_power(dense, k) for k in range(layers + 1))
    rows = np.array([3, 17, 0, 39])
    got = propagated_rows(a, rows, layers).toarray()
    np.testing.assert_allclose(got, total[rows], atol=1e-12)


def _model(ui: bool, seed: int = 0) -> tuple[MLLMRec, np.ndarray]:
    """A small MLLMRec (random weights) on a random item graph; with ``ui`` the UI-GCN variant
    on a training matrix in which the last user and the last two items have no interactions.
    Returns the model and its training matrix."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    n_items, n_users, feat = 12, 6, 16
    train = (rng.random((n_users, n_items)) < 0.4).astype(np.float32)
    train[-1, :] = 0
    train[:, -2:] = 0
    src, dst, w = _graph(rng, n_items, 40)
    model = MLLMRec(torch.randn(n_items, feat), torch.randn(n_users, feat), n_users, dim=8,
                    ii_graph=normalised_item_graph(src, dst, w, n_items), n_ii_layers=2,
                    ui_graph=user_item_graph(sp.csr_matrix(train)) if ui else None, n_ui_layers=2)
    return model, train


@pytest.mark.parametrize("ui", [False, True], ids=["mllmrec", "ui-gcn"])
def test_text_towers_equal_the_trained_models_forward(ui):
    """Rebuilt from its state dict (as refresh rebuilds it from the checkpoint), the model's
    text towers give, for entities without user-item edges, exactly the rows of all_repr."""
    model, train = _model(ui)
    ts = TrainSettings(dim=8, n_ii_layers=2, ui_gcn=ui, n_ui_layers=2)
    assert MLLMRec.needs(ts).text_items and MLLMRec.needs(ts).text_users
    rebuilt = MODELS["mllmrec"].from_weights(model.state_dict(), ts)
    assert rebuilt.text_dim == 16
    with torch.no_grad():
        users, items = model.all_repr()
        cold_items = np.flatnonzero(train.sum(axis=0) == 0) if ui else np.arange(12)
        cold_users = np.flatnonzero(train.sum(axis=1) == 0) if ui else np.arange(6)
        got_i = rebuilt.text_item_repr(model.item_input[torch.from_numpy(cold_items)])
        got_u = rebuilt.text_user_repr(model.user_input[torch.from_numpy(cold_users)])
    torch.testing.assert_close(got_i, items[torch.from_numpy(cold_items)], atol=1e-6, rtol=1e-6)
    torch.testing.assert_close(got_u, users[torch.from_numpy(cold_users)], atol=1e-6, rtol=1e-6)
    if ui:  # the layer-0 term by hand: h + h / |h|
        h = rebuilt.item_mlp(model.item_input[torch.from_numpy(cold_items)]).detach()
        torch.testing.assert_close(got_i, h + h / h.norm(dim=1, keepdim=True))


def test_hybrid_text_towers_equal_its_forward_for_entities_without_training_edges():
    """The hybrid rebuilt for refresh scores an item or user without training interactions
    exactly as the trained hybrid does (its ID part is zero)."""
    from mllmrec.train.hybrid import Hybrid

    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    n_items, n_users, feat = 12, 6, 16
    train = (rng.random((n_users, n_items)) < 0.4).astype(np.float32)
    train[-1, :] = 0
    train[:, -2:] = 0
    src, dst, w = _graph(rng, n_items, 40)
    model = Hybrid(torch.randn(n_items, feat), torch.randn(n_users, feat),
                   user_item_graph(sp.csr_matrix(train)), dim=8,
                   ii_graph=normalised_item_graph(src, dst, w, n_items), n_ii_layers=2)
    ts = TrainSettings(model="hybrid", dim=8, n_ii_layers=2)
    assert Hybrid.needs(ts).text_items and Hybrid.needs(ts).text_users
    rebuilt = MODELS["hybrid"].from_weights(model.state_dict(), ts)
    cold_items, cold_users = torch.tensor([10, 11]), torch.tensor([5])
    with torch.no_grad():
        users, items = model.all_repr()
        got_i = rebuilt.text_item_repr(model.item_input[cold_items])
        got_u = rebuilt.text_user_repr(model.user_input[cold_users])
        warm_text = rebuilt.text_item_repr(model.item_input[:2])
    torch.testing.assert_close(got_i, items[cold_items], atol=1e-6, rtol=1e-6)
    torch.testing.assert_close(got_u, users[cold_users], atol=1e-6, rtol=1e-6)
    assert not torch.allclose(warm_text, items[:2], atol=1e-4)  # warm items have an ID part


def test_models_without_text_towers_say_so():
    ts = TrainSettings()
    for name in ("bpr", "lightgcn"):
        needs = MODELS[name].needs(TrainSettings(model=name))
        assert not (needs.text_items or needs.text_users)
        with pytest.raises(NotImplementedError):
            MODELS[name].from_weights({}, ts)
    no_pref = MLLMRec.needs(TrainSettings(use_user_pref=False))
    assert no_pref.text_items and not no_pref.text_users


def _row(*pairs: tuple[str, float]) -> list[dict]:
    return [{"target": t, "cosine": c} for t, c in pairs]


def test_merge_row_displaces_the_worst_neighbour_of_a_full_row():
    current = _row(("x", 1.0), ("a", 0.9), ("b", 0.8))
    merged = merge_row(current, _row(("n", 0.85)), knn_k=3)
    assert [r["target"] for r in merged] == ["x", "a", "n"]


def test_merge_row_grows_a_row_cut_by_the_threshold():
    current = _row(("x", 1.0), ("a", 0.9))  # knn_k 3, the third neighbour was below pure
    merged = merge_row(current, _row(("n", 0.75), ("m", 0.72)), knn_k=3)
    assert [r["target"] for r in merged] == ["x", "a", "n"]


def test_merge_row_ties_by_id_and_is_idempotent():
    current = _row(("x", 1.0), ("b", 0.8))
    once = merge_row(current, _row(("a", 0.8)), knn_k=2)
    assert [r["target"] for r in once] == ["x", "a"]
    assert merge_row(once, _row(("a", 0.8)), knn_k=2) == once
