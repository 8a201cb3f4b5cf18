"""The semantic kNN mode follows the catalogue size: approximate (vector index) above
``graph.approximate_above`` items, exact below; approximate edges keep >= 99% of the edges
of an independent numpy exact kNN, exact edges equal it."""
from __future__ import annotations

import uuid

import pytest

from bench.synthetic import make_synthetic
from mllmrec.config import Settings
from mllmrec.dataset import drop_dataset
from mllmrec.graph.build import build_graph
from mllmrec.ingest import prepare, write
from tests.e2e.graph_reference import assert_same_edges, semantic_edges

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def small(store):
    """A seeded synthetic catalogue of a few hundred items with topic-structured vectors."""
    name = f"g-knn-{uuid.uuid4().hex[:8]}"
    syn = make_synthetic(6_000, seed=11)
    settings = Settings(dataset=name)
    write(store, name, prepare(syn.catalogue, settings.ingest), settings.ingest,
          {"format": "synthetic"})
    store.write_batches("enrich/set_item_embeddings",
                        [{"id": i, "vector": v.tolist(), "hash": "test"}
                         for i, v in zip(syn.item_ids, syn.item_embeddings)],
                        batch_size=1000, dataset=name)
    yield name, syn
    drop_dataset(store, name)


def _similar(store, dataset: str, build: str) -> dict[tuple[str, str], float]:
    rows = store.run("graph/build_edges", dataset=dataset, build=build)
    return {(r["source"], r["target"]): r["weight"] for r in rows if r["type"] == "SIMILAR"}


@pytest.mark.parametrize("above, approximate", [(100, True), (100_000, False)])
def test_mode_by_catalogue_size_and_recall(store, neo4j_settings, small, above, approximate):
    name, syn = small
    n_items = len(syn.item_ids)
    assert 100 < n_items < 100_000
    settings = Settings(dataset=name, neo4j=neo4j_settings)
    assert settings.graph.approximate is None  # the default chooses by size
    settings.graph.approximate_above = above
    settings.graph.knn_jac = 0
    settings.graph.pure = 0.6
    summary = build_graph(store, settings)
    build = store.run_text("MATCH (b:GraphBuild {id: $id}) RETURN b.approximate AS a",
                           id=summary.build_id)[0]
    assert build["a"] is approximate and summary.params["approximate"] is approximate
    assert ("approximate_recall" in summary.counts) is approximate

    want, _ = semantic_edges(syn.item_ids, syn.item_embeddings, settings.graph.knn_k, 0.6)
    got = _similar(store, name, summary.build_id)
    assert len(want) > 5 * n_items  # the threshold leaves real neighbours, not only self-loops
    if approximate:
        recall = len(set(got) & set(want)) / len(want)
        assert recall >= 0.99, recall
        # float32 cosines from the index score (2 * score - 1), not re-scored
        assert max(abs(got[e] - want[e]) for e in set(got) & set(want)) <= 2e-6
        assert all(got[(i, i)] == 1.0 for i in syn.item_ids)
    else:
        assert_same_edges(got, want, tol=1e-9)


@pytest.mark.parametrize("rebuild", [True, False])
def test_index_rebuild_keeps_the_index_online_and_the_recall(store, neo4j_settings, small,
                                                              rebuild):
    """Rebuilding the shared vector index before the search (graph.rebuild_index) leaves it
    online and the build's recall against numpy exact at >= 0.99."""
    name, syn = small
    settings = Settings(dataset=name, neo4j=neo4j_settings)
    settings.graph.approximate = True
    settings.graph.rebuild_index = rebuild
    settings.graph.knn_jac = 0
    settings.graph.pure = 0.6
    summary = build_graph(store, settings)
    assert summary.counts["index_rebuilt"] == int(rebuild)
    assert ("index_rebuild_s" in summary.timings) is rebuild
    states = {r["name"]: r["state"] for r in store.run("schema/vector_indexes")}
    assert states["item_embedding"] == "ONLINE"

    want, _ = semantic_edges(syn.item_ids, syn.item_embeddings, settings.graph.knn_k, 0.6)
    got = _similar(store, name, summary.build_id)
    assert len(set(got) & set(want)) / len(want) >= 0.99


def test_exact_scan_of_the_recall_check_equals_numpy(store, small):
    """The recall check's exact side (a per-source scan, memory bounded on any catalogue)
    finds the same neighbours and cosines as an independent numpy exact kNN."""
    from mllmrec.graph.semantic import neighbours

    name, syn = small
    sources = syn.item_ids[::13][:30]
    found = neighbours(store, name, sources, knn_k=10, search="exact_scan")
    want, _ = semantic_edges(syn.item_ids, syn.item_embeddings, 10, -1.0, sources=sources)
    got = {(s, t): c for s, nbrs in found.items() for t, c in nbrs}
    assert_same_edges(got, want, tol=1e-9)
