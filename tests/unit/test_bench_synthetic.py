"""The synthetic catalogues behind the scaling benchmark: sized as asked, seeded, skewed,
unit embeddings, and user vectors built from training items only."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bench.synthetic import make_arrivals, make_synthetic, user_embeddings


@pytest.fixture(scope="module")
def syn():
    return make_synthetic(20_000, seed=7)


def test_size_shape_and_no_duplicates(syn):
    inter = syn.catalogue.interactions
    assert len(inter) == 20_000
    assert not inter.duplicated(["user_id", "item_id"]).any()
    # Amazon Sports ratios: ~8.3 interactions per user, ~16 per item (items without any
    # interaction are dropped, so at most that many).
    assert len(syn.catalogue.users) == round(20_000 * 35_598 / 296_337)
    assert len(syn.catalogue.items) <= round(20_000 * 18_357 / 296_337)
    assert set(syn.catalogue.items["item_id"]) == set(inter["item_id"])
    assert inter.groupby("user_id").size().min() >= 5
    assert inter["split"].isna().all()  # ingestion splits it like real data


def test_seeded(syn):
    again = make_synthetic(20_000, seed=7)
    pd.testing.assert_frame_equal(syn.catalogue.interactions, again.catalogue.interactions)
    np.testing.assert_array_equal(syn.item_embeddings, again.item_embeddings)
    other = make_synthetic(20_000, seed=8)
    assert not other.catalogue.interactions["item_id"].equals(syn.catalogue.interactions["item_id"])


def test_popularity_is_skewed(syn):
    deg = np.sort(syn.catalogue.interactions["item_id"].value_counts().to_numpy())[::-1]
    top = deg[: max(1, len(deg) // 100)].sum() / deg.sum()
    assert top > 0.05  # the top 1% of items hold far more than 1% of interactions
    assert deg[0] > 8 * np.median(deg)


def test_unit_embeddings_with_topic_structure(syn):
    e = syn.item_embeddings
    assert e.shape == (len(syn.catalogue.items), 384) and e.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(e, axis=1), 1.0, atol=1e-5)
    topic = syn.catalogue.items["category"].to_numpy()
    same = topic[:, None] == topic[None, :]
    cos = e @ e.T
    np.fill_diagonal(same, False)
    assert cos[same].mean() > 0.4 and abs(cos[~same].mean()) < 0.1


def test_user_embeddings_use_training_items_only():
    items = ["a", "b", "c"]
    emb = np.eye(3, 384, dtype=np.float32)
    inter = pd.DataFrame({"user_id": ["u1", "u1", "u1", "u2"], "item_id": ["a", "b", "c", "c"],
                          "split": [0, 0, 2, 1]})
    users, vec = user_embeddings(inter, items, emb)
    assert users == ["u1"]  # u2 has no training item
    expected = np.zeros(384)
    expected[[0, 1]] = 1 / np.sqrt(2)  # mean of a and b, normalised; c (test) is left out
    np.testing.assert_allclose(vec[0], expected, atol=1e-6)


def test_arrivals_drawn_from_the_same_topics(syn):
    before = syn.catalogue.interactions.copy()
    a = make_arrivals(syn, 120, 100, seed=3)
    pd.testing.assert_frame_equal(syn.catalogue.interactions, before)  # syn left alone
    hist, lone = a.history.interactions, a.no_history.interactions
    assert a.item_ids == [f"n{k}" for k in range(120)]
    assert a.user_ids == [f"nu{k}" for k in range(100)] and len(a.no_history_users) == 20
    # every new item comes in with a history user; nothing else is new
    assert set(a.item_ids) <= set(hist["item_id"])
    assert set(hist["item_id"]) - set(a.item_ids) <= set(syn.item_ids)
    per_user = hist.groupby("user_id").size()
    assert len(per_user) == 80 and per_user.min() >= 3 and per_user.max() <= 8
    assert not hist.duplicated(["user_id", "item_id"]).any() and hist["split"].isna().all()
    # users without history: one held-out interaction with an old item
    assert lone.groupby("user_id").size().eq(1).all() and (lone["split"] == 2).all()
    assert set(lone["item_id"]) <= set(syn.item_ids)
    # unit vectors around the centroid of the topic named in the item's category
    topic = a.history.items.set_index("item_id").loc[a.item_ids, "category"].str.split().str[-1]
    cos = a.item_embeddings @ syn.centroids.T
    own = cos[np.arange(120), topic.astype(int).to_numpy()]
    np.testing.assert_allclose(np.linalg.norm(a.item_embeddings, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(a.text_vectors, axis=1), 1.0, atol=1e-5)
    assert (own == cos.max(axis=1)).all() and own.mean() > 0.5
    again = make_arrivals(syn, 120, 100, seed=3)
    pd.testing.assert_frame_equal(again.history.interactions, hist)
    np.testing.assert_array_equal(again.item_embeddings, a.item_embeddings)
