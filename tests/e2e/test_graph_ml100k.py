"""The item-item graphs built in Neo4j on MovieLens 100K equal an independent numpy/scipy
computation (edge sets identical, weights within 1e-6); the approximate semantic mode keeps
>= 95% of the exact edges; a rebuild replaces edges; graph-stats reports them."""
from __future__ import annotations

import json
import uuid

import numpy as np
import pytest

from loaders.movielens import load_movielens
from mllmrec.config import IngestSettings, Settings
from mllmrec.dataset import drop_dataset
from mllmrec.graph.build import build_graph
from mllmrec.ingest import prepare, write
from tests.conftest import ML100K, run_cli
from tests.e2e.graph_reference import assert_same_edges, cooccurrence_edges, semantic_edges

pytestmark = pytest.mark.e2e


def _genre_vectors(genres: list, dim: int = 384, seed: int = 5) -> np.ndarray:
    """Seeded stand-in for text embeddings (cheaper than running the encoder in this test):
    the mean of the item's genre centroids plus item noise, so items sharing genres are
    close (cosines spread over [0, 1] and the threshold has something to cut). Stored as
    float32, as the embed stage stores its vectors."""
    rng = np.random.default_rng(seed)
    genres = [gs if isinstance(gs, str) else "" for gs in genres]
    names = sorted({g.strip() for gs in genres if gs for g in gs.split(",")})
    centroid = dict(zip(names, rng.normal(size=(len(names), dim))))
    out = np.empty((len(genres), dim))
    for k, gs in enumerate(genres):
        parts = [centroid[g.strip()] for g in gs.split(",")] if gs else [np.zeros(dim)]
        out[k] = np.mean(parts, axis=0) + 0.6 * rng.normal(size=dim)
    return (out / np.linalg.norm(out, axis=1, keepdims=True)).astype(np.float32)


@pytest.fixture(scope="module")
def ml(store):
    """A writable copy of ML-100K with genre-structured item embeddings."""
    if not (ML100K / "u.data").is_file():
        pytest.skip(f"MovieLens 100K not found at {ML100K}")
    name = f"g-ml-{uuid.uuid4().hex[:8]}"
    s = IngestSettings()
    cat = prepare(load_movielens(ML100K), s)
    write(store, name, cat, s, {"format": "movielens"})
    items = cat.items.sort_values("item_id")
    ids = items["item_id"].astype(str).tolist()
    vectors = _genre_vectors(items["category"].tolist())
    store.write_batches("enrich/set_item_embeddings",
                        [{"id": i, "vector": v.tolist(), "hash": "test"} for i, v in zip(ids, vectors)],
                        batch_size=1000, dataset=name)
    yield {"name": name, "cat": cat, "ids": ids, "vectors": vectors}
    drop_dataset(store, name)


def _edges(store, dataset: str, build: str, edge_type: str) -> dict[tuple[str, str], float]:
    rows = store.run("graph/build_edges", dataset=dataset, build=build)
    return {(r["source"], r["target"]): r["weight"] for r in rows if r["type"] == edge_type}


@pytest.fixture(scope="module")
def exact(store, neo4j_settings, ml):
    settings = Settings(dataset=ml["name"], neo4j=neo4j_settings)
    summary = build_graph(store, settings)
    return {"summary": summary,
            "co": _edges(store, ml["name"], summary.build_id, "CO_OCCURS"),
            "sim": _edges(store, ml["name"], summary.build_id, "SIMILAR")}


def test_cooccurrence_equals_scipy_on_training_audiences(ml, exact):
    inter = ml["cat"].interactions
    train = inter[inter["split"] == 0]
    want = cooccurrence_edges(train["user_id"].astype(str).to_numpy(),
                              train["item_id"].astype(str).to_numpy(), ml["ids"], knn_jac=10)
    assert_same_edges(exact["co"], want)
    # Including validation/test interactions would give a different graph (so the equality
    # above really shows they were left out).
    leaky = cooccurrence_edges(inter["user_id"].astype(str).to_numpy(),
                               inter["item_id"].astype(str).to_numpy(), ml["ids"], knn_jac=10)
    assert leaky != want
    assert exact["summary"].counts["co_occurs_edges"] == len(want)


def test_semantic_equals_numpy_exact_knn(ml, exact):
    want, cut = semantic_edges(ml["ids"], ml["vectors"], knn_k=10, pure=0.7)
    assert_same_edges(exact["sim"], want)
    counts = exact["summary"].counts
    assert counts["similar_below_pure"] == cut
    assert counts["similar_loops"] == sum(s == t for s, t in want) == len(ml["ids"])
    assert 0 < cut < 10 * len(ml["ids"])


def test_approximate_recall_and_replacement(store, neo4j_settings, ml, exact):
    settings = Settings(dataset=ml["name"], neo4j=neo4j_settings)
    settings.graph.approximate = True
    settings.graph.knn_jac = 0  # co-occurrence re-runs are covered by test_graph_policy
    settings.graph.recall_sample = 100
    summary = build_graph(store, settings)
    approx = _edges(store, ml["name"], summary.build_id, "SIMILAR")
    truth = set(exact["sim"])
    recall = len(truth & set(approx)) / len(truth)
    assert recall >= 0.95
    assert summary.counts["approximate_recall"] >= 0.95
    for key in set(approx) & truth:  # kept edges carry the cosine in float32 precision
        assert abs(approx[key] - exact["sim"][key]) <= 2e-6
    # The exact build's edges were replaced: only the new build's edges remain (and no
    # CO_OCCURS edge, since this build asked for none).
    rows = store.run_text(
        "MATCH (:Item {dataset: $d})-[r:CO_OCCURS|SIMILAR]->() "
        "RETURN r.build AS build, type(r) AS type, count(*) AS n", d=ml["name"])
    assert [(r["build"], r["type"]) for r in rows] == [(summary.build_id, "SIMILAR")]
    builds = store.run_text("MATCH (b:GraphBuild {dataset: $d}) RETURN b.id AS id, "
                            "b.active AS active, b.status AS status, b.timings AS timings",
                            d=ml["name"])
    assert {(b["id"], b["active"], b["status"]) for b in builds} == {
        (exact["summary"].build_id, False, "ok"), (summary.build_id, True, "ok")}
    assert all(json.loads(b["timings"])["total_s"] > 0 for b in builds)


def test_graph_stats_cli(store, neo4j_settings, ml, exact):
    result = run_cli(["--dataset", ml["name"], "graph-stats"], neo4j_settings)
    assert result.exit_code == 0, result.output
    out = result.output
    active = store.run("graph/active_build", dataset=ml["name"])[0]
    counts = json.loads(active["counts"])
    assert f"CO_OCCURS  {counts['co_occurs_edges']:,} edges" in out
    assert f"items {len(ml['ids']):,}; with no edge of any type:" in out
    assert f"SIMILAR    {counts['similar_edges']:,} edges ({len(ml['ids']):,} self-loops)" in out
    assert f"removed by pure=0.7: {counts['similar_below_pure']:,}" in out
    assert ("approximate recall vs exact" in out) == active["approximate"]
