"""For the ``components`` section: item-item graph build on a synthetic catalogue shaped like Amazon Sports
(about 36k users,
18k items, 300k interactions, Zipf-like popularity, 384-d topic-structured embeddings; see
``bench/synthetic.py``), each Neo4j time next to the independent scipy/numpy computation of
the same graph in the same run:

- co-occurrence: ``build-graph``'s Cypher pass vs ``scipy.sparse`` X^T X plus a vectorised
  top-k (``tests/e2e/graph_reference.py``), edge sets compared;
- semantic, approximate (vector index): the build's time and its recall against the exact
  numpy kNN of ALL items (not only the build's own sample estimate);
- semantic, exact (brute force in Cypher): timed on a sample of source items and
  extrapolated (it is O(items^2) similarity calls), vs numpy's blockwise exact kNN.

Aim: co-occurrence within 3x of numpy and under 2 minutes on this machine; memory grows with
co-occurring pairs (reported: nnz of X^T X) not with items squared. Writes only its own
``bench-graph-*`` dataset, dropped at the end (``--quick``: 50,000 interactions).
"""
from __future__ import annotations

import logging
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
import scipy.sparse as sp

from bench.common import server_cpu_seconds
from bench.synthetic import make_synthetic
from mllmrec.config import IngestSettings, Neo4jSettings, Settings
from mllmrec.dataset import drop_dataset
from mllmrec.db import Store
from mllmrec.graph.build import build_graph
from mllmrec.graph.cooccurrence import build_cooccurrence
from mllmrec.graph.semantic import neighbours
from mllmrec.ingest import prepare, write
from tests.e2e.graph_reference import cooccurrence_edges, semantic_edges

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class Timing:
    """Seconds of one timed call: wall, this process's CPU, the Neo4j server's CPU."""

    wall_s: float
    python_cpu_s: float
    neo4j_cpu_s: float | None

    def scaled(self, factor: float) -> Timing:
        """The timing of ``factor`` times the work (an extrapolation from a sample)."""
        return Timing(self.wall_s * factor, self.python_cpu_s * factor,
                      None if self.neo4j_cpu_s is None else self.neo4j_cpu_s * factor)


class Clock:
    """Wall time plus CPU seconds of this process (numpy) and of the Neo4j server process
    (when it is a local server whose pid file is known). On a shared machine the CPU
    seconds are the fairer comparison: wall time includes waiting for other people's work."""

    def __init__(self, neo4j: Neo4jSettings) -> None:
        self.neo4j = neo4j

    def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> tuple[T, Timing]:
        wall, cpu = time.perf_counter(), time.process_time()
        server = server_cpu_seconds(self.neo4j)
        out = fn(*args, **kwargs)
        after = server_cpu_seconds(self.neo4j)
        return out, Timing(round(time.perf_counter() - wall, 2), round(time.process_time() - cpu, 2),
                           None if server is None or after is None else round(after - server, 2))


def _edges(store: Store, dataset: str, build: str, edge_type: str) -> dict[tuple[str, str], float]:
    rows = store.run("graph/build_edges", dataset=dataset, build=build)
    return {(r["source"], r["target"]): r["weight"] for r in rows if r["type"] == edge_type}


def run_graph_bench(store: Store, settings: Settings, n_interactions: int = 300_000,
                    seed: int = 2025, exact_sample: int = 200) -> list[dict[str, Any]]:
    """Build both graphs of a synthetic catalogue in Neo4j and with numpy; one row per graph."""
    clock = Clock(settings.neo4j)
    syn = make_synthetic(n_interactions, seed=seed)
    name = f"bench-graph-{uuid.uuid4().hex[:8]}"
    ing = IngestSettings()
    cat = prepare(syn.catalogue, ing)
    gs = settings.graph
    try:
        write(store, name, cat, ing, {"format": "synthetic"})
        ids = syn.item_ids
        rows = [{"id": i, "vector": v.tolist(), "hash": "bench"} for i, v in zip(ids, syn.item_embeddings)]
        store.write_batches("enrich/set_item_embeddings", rows, batch_size=1000, desc="embeddings",
                            dataset=name)
        train = cat.interactions[cat.interactions["split"] == 0]
        log.info("ingested %s: %d users, %d items, %d interactions (%d training)", name,
                 len(cat.users), len(ids), len(cat.interactions), len(train))

        # Co-occurrence: the stage's own Cypher pass, alone, vs scipy.
        counts, neo_co = clock.run(build_cooccurrence, store, name, "bench-co", gs.knn_jac,
                                   gs.batch_items)
        users, items = train["user_id"].to_numpy(str), train["item_id"].to_numpy(str)
        want_co, np_co = clock.run(cooccurrence_edges, users, items, ids, gs.knn_jac)
        got_co = _edges(store, name, "bench-co", "CO_OCCURS")
        co_equal = set(got_co) == set(want_co) and all(
            abs(got_co[k] - want_co[k]) <= 1e-6 for k in want_co)

        # Semantic, approximate: a real build (knn_jac=0 so it times the semantic part).
        s = settings.model_copy(update={"dataset": name}, deep=True)
        s.graph.approximate, s.graph.knn_jac = True, 0
        summary, neo_sim = clock.run(build_graph, store, s)
        (want_sim, _), np_sim = clock.run(semantic_edges, ids, syn.item_embeddings, gs.knn_k, gs.pure)
        got_sim = _edges(store, name, summary.build_id, "SIMILAR")
        recall = len(set(got_sim) & set(want_sim)) / max(len(want_sim), 1)

        # Semantic, exact: brute force on a sample of sources, extrapolated.
        sample = random.Random(seed).sample(ids, min(exact_sample, len(ids)))
        _, neo_exact = clock.run(neighbours, store, name, sample, gs.knn_k)
    finally:
        drop_dataset(store, name)
    scale = len(ids) / len(sample)
    t, c = summary.timings, summary.counts
    return [
        {"name": "graph co-occurrence: Cypher pass vs scipy.sparse X^T X + top-k",
         "items": len(ids), "train_interactions": len(train),
         "cooccurring_pairs": _cooccurring_pairs(users, items), "items_squared": len(ids) ** 2,
         "edges": counts["co_occurs_edges"], "edges_equal_to_numpy": co_equal,
         **_pair(neo_co, np_co)},
        {"name": "graph semantic approximate (vector index) vs numpy exact blockwise",
         "edges": c["similar_edges"], "recall_vs_numpy_exact": round(recall, 4),
         "build_recall_estimate": round(c["approximate_recall"], 4),
         "kNN_s": round(t["semantic_s"], 1), "recall_estimate_s": round(t["recall_s"], 1),
         **_pair(neo_sim, np_sim)},
        {"name": f"graph semantic exact (brute-force Cypher), {len(sample)} sources x{scale:.0f}",
         "sample_wall_s": neo_exact.wall_s, "sample_neo4j_cpu_s": neo_exact.neo4j_cpu_s,
         **_pair(neo_exact.scaled(scale), np_sim)},
    ]


def _pair(neo: Timing, ref: Timing) -> dict[str, Any]:
    """Neo4j vs numpy: wall seconds and CPU seconds (server CPU for Neo4j) and their ratios."""
    out: dict[str, Any] = {"neo4j_wall_s": round(neo.wall_s, 1), "numpy_wall_s": ref.wall_s,
                           "wall_ratio": round(neo.wall_s / ref.wall_s, 1)}
    if neo.neo4j_cpu_s is not None:
        out.update({"neo4j_cpu_s": round(neo.neo4j_cpu_s, 1), "numpy_cpu_s": ref.python_cpu_s,
                    "cpu_ratio": round(neo.neo4j_cpu_s / max(ref.python_cpu_s, 1e-3), 1)})
    return out


def _cooccurring_pairs(users: np.ndarray, items: np.ndarray) -> int:
    """Ordered item pairs (i != j) with at least one common training user: what the
    co-occurrence pass holds, at most, per batch of items (never items squared)."""
    u = np.unique(users, return_inverse=True)[1]
    i = np.unique(items, return_inverse=True)[1]
    x = sp.csr_matrix((np.ones(len(u)), (u, i)))
    x.data[:] = 1.0
    c = (x.T @ x).tocoo()
    return int((c.row != c.col).sum())
