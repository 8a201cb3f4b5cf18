"""Item-item graph build on a synthetic catalogue shaped like Amazon Sports (about 36k users,
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
co-occurring pairs (printed: nnz of X^T X) not with items squared.

Run: ``python -m bench.graph [--interactions 300000] [--exact-sample 200]``. Uses the server
NEO4J_URI names, else starts a temporary one; writes only its own ``bench-graph-*`` dataset,
dropped at the end.
"""
from __future__ import annotations

import argparse
import logging
import os
import random
import time
import uuid
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402
import scipy.sparse as sp  # noqa: E402

from bench.common import neo4j_for_bench  # noqa: E402
from bench.synthetic import make_synthetic  # noqa: E402
from mllmrec.config import IngestSettings, Neo4jSettings, Settings  # noqa: E402
from mllmrec.dataset import drop_dataset  # noqa: E402
from mllmrec.db import Graph, connect  # noqa: E402
from mllmrec.graph.build import build_graph  # noqa: E402
from mllmrec.graph.cooccurrence import build_cooccurrence  # noqa: E402
from mllmrec.graph.semantic import neighbours  # noqa: E402
from mllmrec.ingest import prepare, write  # noqa: E402
from mllmrec.neo4j_server import ServerPaths, read_pid  # noqa: E402
from tests.e2e.graph_reference import cooccurrence_edges, semantic_edges  # noqa: E402

log = logging.getLogger("bench.graph")


class Clock:
    """Wall time plus CPU seconds of this process (numpy) and of the Neo4j server process
    (when it is a local server whose pid file is known). On a shared machine the CPU
    seconds are the fairer comparison: wall time includes waiting for other people's work."""

    def __init__(self, neo4j: Neo4jSettings) -> None:
        self.pid = read_pid(ServerPaths(Path(neo4j.home)))

    def _server_cpu(self) -> float | None:
        if self.pid is None:
            return None
        try:
            fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def run(self, fn, *args, **kwargs) -> tuple[Any, dict[str, float | None]]:
        wall, cpu, server = time.perf_counter(), time.process_time(), self._server_cpu()
        out = fn(*args, **kwargs)
        after = self._server_cpu()
        return out, {"wall_s": round(time.perf_counter() - wall, 2),
                     "python_cpu_s": round(time.process_time() - cpu, 2),
                     "neo4j_cpu_s": None if server is None or after is None else round(after - server, 2)}


def _edges(graph: Graph, dataset: str, build: str, edge_type: str) -> dict[tuple[str, str], float]:
    rows = graph.run("graph/build_edges", dataset=dataset, build=build)
    return {(r["source"], r["target"]): r["weight"] for r in rows if r["type"] == edge_type}


def run_graph_bench(graph: Graph, settings: Settings, n_interactions: int = 300_000,
                    seed: int = 2025, exact_sample: int = 200) -> list[dict[str, Any]]:
    """Build both graphs of a synthetic catalogue in Neo4j and with numpy; one row per graph."""
    clock = Clock(settings.neo4j)
    syn = make_synthetic(n_interactions, seed=seed)
    name = f"bench-graph-{uuid.uuid4().hex[:8]}"
    ing = IngestSettings()
    cat = prepare(syn.catalogue, ing)
    gs = settings.graph
    try:
        write(graph, name, cat, ing, {"format": "synthetic"})
        ids = syn.item_ids
        rows = [{"id": i, "vector": v.tolist(), "hash": "bench"} for i, v in zip(ids, syn.item_embeddings)]
        graph.write_batches("enrich/set_item_embeddings", rows, batch_size=1000, desc="embeddings",
                            dataset=name)
        train = cat.interactions[cat.interactions["split"] == 0]
        log.info("ingested %s: %d users, %d items, %d interactions (%d training)", name,
                 len(cat.users), len(ids), len(cat.interactions), len(train))

        # Co-occurrence: the stage's own Cypher pass, alone, vs scipy.
        counts, neo_co = clock.run(build_cooccurrence, graph, name, "bench-co", gs.knn_jac,
                                   gs.batch_items)
        users, items = train["user_id"].to_numpy(str), train["item_id"].to_numpy(str)
        want_co, np_co = clock.run(cooccurrence_edges, users, items, ids, gs.knn_jac)
        got_co = _edges(graph, name, "bench-co", "CO_OCCURS")
        co_equal = set(got_co) == set(want_co) and all(
            abs(got_co[k] - want_co[k]) <= 1e-6 for k in want_co)

        # Semantic, approximate: a real build (knn_jac=0 so it times the semantic part).
        s = settings.model_copy(update={"dataset": name}, deep=True)
        s.graph.approximate, s.graph.knn_jac = True, 0
        summary, neo_sim = clock.run(build_graph, graph, s)
        (want_sim, _), np_sim = clock.run(semantic_edges, ids, syn.item_embeddings, gs.knn_k, gs.pure)
        got_sim = _edges(graph, name, summary.build_id, "SIMILAR")
        recall = len(set(got_sim) & set(want_sim)) / max(len(want_sim), 1)

        # Semantic, exact: brute force on a sample of sources, extrapolated.
        sample = random.Random(seed).sample(ids, min(exact_sample, len(ids)))
        _, neo_exact = clock.run(neighbours, graph, name, sample, gs.knn_k)
    finally:
        drop_dataset(graph, name)
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
         "sample_wall_s": neo_exact["wall_s"], "sample_neo4j_cpu_s": neo_exact["neo4j_cpu_s"],
         **_pair({k: v * scale if v is not None else None for k, v in neo_exact.items()}, np_sim)},
    ]


def _pair(neo: dict[str, float | None], ref: dict[str, float | None]) -> dict[str, Any]:
    """Neo4j vs numpy: wall seconds and CPU seconds (server CPU for Neo4j) and their ratios."""
    out: dict[str, Any] = {"neo4j_wall_s": round(neo["wall_s"], 1), "numpy_wall_s": ref["wall_s"],
                           "wall_ratio": round(neo["wall_s"] / ref["wall_s"], 1)}
    if neo["neo4j_cpu_s"] is not None:
        out.update({"neo4j_cpu_s": round(neo["neo4j_cpu_s"], 1), "numpy_cpu_s": ref["python_cpu_s"],
                    "cpu_ratio": round(neo["neo4j_cpu_s"] / max(ref["python_cpu_s"], 1e-3), 1)})
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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--interactions", type=int, default=300_000)
    ap.add_argument("--seed", type=int, default=2025)
    ap.add_argument("--exact-sample", type=int, default=200,
                    help="source items timed with the exact brute-force kNN")
    ap.add_argument("--pure", type=float, default=0.7)
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    logging.getLogger("neo4j").setLevel(logging.WARNING)
    settings = Settings()
    settings.graph.pure = args.pure
    with neo4j_for_bench() as neo4j:
        settings.neo4j = neo4j
        graph = connect(neo4j)
        try:
            rows = run_graph_bench(graph, settings, args.interactions, args.seed, args.exact_sample)
        finally:
            graph.close()
    for row in rows:
        print(row.pop("name"))
        print("   " + ", ".join(f"{k}={v}" for k, v in row.items()))


if __name__ == "__main__":
    main()
