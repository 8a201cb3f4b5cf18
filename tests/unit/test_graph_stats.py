"""Pure helpers of the graph stage: degree summaries and histograms, the vector-index fetch
size, the threshold filter, and the build summary text."""
from __future__ import annotations

import numpy as np

from mllmrec.config import GraphSettings
from mllmrec.graph.build import GraphBuildSummary
from mllmrec.graph.semantic import EmbeddedItems, index_fetch, kept, should_rebuild
from mllmrec.graph.stats import DegreeStats, _histogram


def test_no_edge_share_counts_items_without_any_direction():
    d = DegreeStats("SIMILAR", edges=3, loops=1, out_degrees=np.array([2, 0, 1, 0]),
                    in_degrees=np.array([1, 2, 0, 0]))
    assert d.no_edge_share == 0.25  # only the last item has neither
    text = "\n".join(d.lines())
    assert "3 edges (1 self-loops)" in text and "items with no SIMILAR edge: 25.0%" in text
    assert "min 0  median 0.5  mean 0.75  max 2" in text


def test_histogram_lists_each_degree_or_ranges():
    assert _histogram(np.array([0, 10, 10, 3])) == "0:1  3:1  10:2"
    wide = _histogram(np.arange(100), bins=4)
    assert wide == "0-24:25  25-49:25  50-74:25  75-99:25"
    assert _histogram(np.array([], dtype=int)) == "-"


def test_index_fetch_scales_with_other_datasets_in_the_shared_index():
    alone = EmbeddedItems(ids=[str(k) for k in range(100)], items=100, dimensions=4, indexed=100)
    assert index_fetch(alone, 50) == 50
    shared = EmbeddedItems(ids=alone.ids, items=100, dimensions=4, indexed=300)
    assert index_fetch(shared, 50) == 150
    assert index_fetch(shared, 500) == 300  # never more than the index holds


def test_index_rebuild_by_default_only_when_the_dataset_dominates_the_index():
    mine = [str(k) for k in range(100)]
    auto = GraphSettings()
    assert auto.rebuild_index is None
    assert should_rebuild(auto, EmbeddedItems(mine, 100, 4, indexed=100))
    assert should_rebuild(auto, EmbeddedItems(mine, 100, 4, indexed=200))
    assert not should_rebuild(auto, EmbeddedItems(mine, 100, 4, indexed=201))
    assert should_rebuild(GraphSettings(rebuild_index=True), EmbeddedItems(mine, 100, 4, 10_000))
    assert not should_rebuild(GraphSettings(rebuild_index=False), EmbeddedItems(mine, 100, 4, 100))


def test_threshold_keeps_pairs_at_or_above_pure():
    found = {"a": [("a", 1.0), ("b", 0.7), ("c", 0.6999999)], "b": [("b", 1.0)]}
    assert kept(found, 0.7) == {("a", "a"), ("a", "b"), ("b", "b")}


def test_summary_lines_name_counts_and_timings():
    s = GraphBuildSummary("b1", "ds", {"knn_k": 10, "knn_jac": 5, "pure": 0.7, "approximate": True},
                          timings={"cooccurrence_s": 1.0, "semantic_s": 2.0, "recall_s": 0.5,
                                   "total_s": 3.5},
                          counts={"co_occurs_edges": 1234, "similar_edges": 50, "similar_loops": 10,
                                  "similar_below_pure": 40, "approximate_recall": 0.98,
                                  "recall_sample": 300})
    text = "\n".join(s.lines())
    assert "knn_k=10, knn_jac=5, pure=0.7, approximate=True" in text
    assert "CO_OCCURS  1,234 edges in 1.0s" in text
    assert "50 edges (10 self-loops, 40 neighbours below pure)" in text
    assert "recall vs exact: 0.9800 on 300 items (0.5s)" in text
