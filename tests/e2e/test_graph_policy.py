"""Graph build policy on a small synthetic dataset: held-out interactions never reach the
co-occurrence graph, re-runs replace edges, a failed build leaves the previous one intact,
missing embeddings stop the build before any write, and the CLI passes its flags."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from neo4j.exceptions import Neo4jError

from loaders.canonical import Catalogue, make_interactions, make_items, users_from
from mllmrec.config import IngestSettings
from mllmrec.errors import StageError
from mllmrec.graph.build import build_graph
from mllmrec.ingest import prepare, write
from tests.conftest import run_cli
from tests.e2e.graph_reference import assert_same_edges, cooccurrence_edges

pytestmark = pytest.mark.e2e

N_ITEMS, N_USERS = 30, 40


def _catalogue(inter: pd.DataFrame) -> Catalogue:
    items = make_items(pd.DataFrame({"item_id": [f"i{k:02d}" for k in range(N_ITEMS)],
                                     "title": [f"item {k}" for k in range(N_ITEMS)]}))
    inter = make_interactions(inter)
    return Catalogue(users=users_from(inter), items=items, interactions=inter)


def _train_interactions(seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = [(f"u{u:02d}", f"i{i:02d}") for u in range(N_USERS)
            for i in rng.choice(N_ITEMS, size=rng.integers(3, 9), replace=False)]
    return pd.DataFrame(rows, columns=["user_id", "item_id"]).assign(split=0)


def _write(store, name: str, inter: pd.DataFrame) -> None:
    s = IngestSettings()
    write(store, name, prepare(_catalogue(inter), s), s, {"format": "test"})


def _embed(store, name: str, seed: int = 3) -> None:
    """Clustered unit vectors (6 topics), so cosines spread over [-1, 1]."""
    rng = np.random.default_rng(seed)
    topics = rng.normal(size=(6, 16))
    vecs = topics[np.arange(N_ITEMS) % 6] + 0.6 * rng.normal(size=(N_ITEMS, 16))
    rows = [{"id": f"i{k:02d}", "vector": v.tolist(), "hash": "test"} for k, v in enumerate(vecs)]
    store.write_batches("enrich/set_item_embeddings", rows, dataset=name)


@pytest.fixture
def small(store, dataset_name):
    inter = _train_interactions()
    _write(store, dataset_name, inter)
    _embed(store, dataset_name)
    return inter


def _all_edges(store, name: str) -> dict[tuple[str, str, str], tuple[float, str]]:
    rows = store.run_text("MATCH (a:Item {dataset: $d})-[r:CO_OCCURS|SIMILAR]->(b) "
                          "RETURN type(r) AS t, a.id AS a, b.id AS b, "
                          "coalesce(r.jaccard, r.cosine) AS w, r.build AS build", d=name)
    out = {(r["t"], r["a"], r["b"]): (r["w"], r["build"]) for r in rows}
    assert len(out) == len(rows), "duplicate edges"
    return out


def _builds(store, name: str) -> list[dict]:
    return store.run_text("MATCH (b:GraphBuild {dataset: $d}) RETURN b.id AS id, "
                          "b.status AS status, b.active AS active ORDER BY b.created_at", d=name)


def test_held_out_interactions_never_reach_cooccurrence(store, settings, small):
    settings.graph.knn_jac = 5
    first = build_graph(store, settings)
    before = {k: w for k, (w, _) in _all_edges(store, settings.dataset).items() if k[0] == "CO_OCCURS"}
    # Held-out interactions that would change many Jaccard values if they were counted.
    rng = np.random.default_rng(11)
    seen = set(zip(small["user_id"], small["item_id"]))
    extra = [(f"u{u:02d}", f"i{i:02d}", int(rng.integers(1, 3)))
             for u in range(N_USERS) for i in rng.choice(N_ITEMS, 4, replace=False)
             if (f"u{u:02d}", f"i{i:02d}") not in seen]
    held = pd.DataFrame(extra, columns=["user_id", "item_id", "split"])
    _write(store, settings.dataset, pd.concat([small, held], ignore_index=True))
    second = build_graph(store, settings)
    after = {k: w for k, (w, _) in _all_edges(store, settings.dataset).items() if k[0] == "CO_OCCURS"}
    assert after == before and len(after) == first.counts["co_occurs_edges"] == second.counts["co_occurs_edges"]
    items = [f"i{k:02d}" for k in range(N_ITEMS)]
    want = cooccurrence_edges(small["user_id"].to_numpy(), small["item_id"].to_numpy(), items, 5)
    assert_same_edges({(a, b): w for (_, a, b), w in after.items()}, want)
    everything = pd.concat([small, held])
    leaky = cooccurrence_edges(everything["user_id"].to_numpy(), everything["item_id"].to_numpy(), items, 5)
    assert leaky != want  # the held-out rows would have changed the graph


def test_rerun_replaces_edges_and_keeps_history(store, settings, small):
    first = build_graph(store, settings)
    edges1 = _all_edges(store, settings.dataset)
    second = build_graph(store, settings)
    edges2 = _all_edges(store, settings.dataset)
    assert set(edges1) == set(edges2)
    assert all(edges2[k][0] == edges1[k][0] for k in edges1)
    assert {b for _, b in edges2.values()} == {second.build_id}
    assert [(b["id"], b["status"], b["active"]) for b in _builds(store, settings.dataset)] == [
        (first.build_id, "ok", False), (second.build_id, "ok", True)]


def test_failed_build_keeps_previous_build(store, settings, small):
    good = build_graph(store, settings)
    edges = _all_edges(store, settings.dataset)
    # A NaN in an embedding makes the semantic pass fail (Neo4j refuses the vector) after
    # the co-occurrence edges of the new build were written.
    store.run_text("MATCH (i:Item {dataset: $d, id: 'i05'}) "
                   "SET i.embedding = [0.0 / 0.0] + i.embedding[1..]", d=settings.dataset)
    with pytest.raises(Neo4jError, match="not a valid vector"):
        build_graph(store, settings)
    assert _all_edges(store, settings.dataset) == edges
    builds = _builds(store, settings.dataset)
    assert [(b["status"], b["active"]) for b in builds] == [("ok", True), ("failed", False)]
    assert builds[0]["id"] == good.build_id
    runs = store.run("stage/last", dataset=settings.dataset)
    assert {r["stage"]: r["status"] for r in runs}["build-graph"] == "failed"


def test_missing_or_mixed_embeddings_stop_before_writing(store, settings):
    _write(store, settings.dataset, _train_interactions())
    with pytest.raises(StageError, match="embed"):
        build_graph(store, settings)
    _embed(store, settings.dataset)
    store.run_text("MATCH (i:Item {dataset: $d, id: 'i07'}) SET i.embedding = [1.0, 0.0, 0.0]",
                   d=settings.dataset)
    with pytest.raises(StageError, match=r"29 of dimension 16, 1 of dimension 3 \(e.g. item 'i07'\)"):
        build_graph(store, settings)
    assert _builds(store, settings.dataset) == []


def test_cli_flags_reach_the_build(store, neo4j_settings, settings, small):
    result = run_cli(["--dataset", settings.dataset, "build-graph", "--knn-k", "3",
                      "--knn-jac", "2", "--pure", "0.5", "--batch-items", "7"], neo4j_settings)
    assert result.exit_code == 0, result.output
    build = store.run("graph/active_build", dataset=settings.dataset)[0]
    assert (build["knn_k"], build["knn_jac"], build["pure"], build["approximate"]) == (3, 2, 0.5, False)
    rows = store.run_text("MATCH (a:Item {dataset: $d})-[r:CO_OCCURS|SIMILAR]->() "
                          "RETURN type(r) AS t, a.id AS a, count(*) AS n, min(r.cosine) AS c",
                          d=settings.dataset)
    assert max(r["n"] for r in rows if r["t"] == "CO_OCCURS") == 2
    assert max(r["n"] for r in rows if r["t"] == "SIMILAR") <= 3
    assert min(r["c"] for r in rows if r["t"] == "SIMILAR") >= 0.5
    assert "CO_OCCURS" in result.output and "SIMILAR" in result.output
