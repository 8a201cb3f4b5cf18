"""``graph-stats``: what the dataset's active item-item graph looks like."""
from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np

from mllmrec.db import Store
from mllmrec.graph.build import active_build

EDGE_TYPES = ("CO_OCCURS", "SIMILAR")


@dataclass
class DegreeStats:
    """Edges of one type and the distribution of item out- and in-degrees."""

    type: str
    edges: int
    loops: int
    out_degrees: np.ndarray
    in_degrees: np.ndarray

    @property
    def no_edge_share(self) -> float:
        """Share of items with no edge of this type in either direction."""
        none = (self.out_degrees == 0) & (self.in_degrees == 0)
        return float(none.mean()) if none.size else 0.0

    def lines(self) -> list[str]:
        out = [f"{self.type:<10} {self.edges:,} edges ({self.loops:,} self-loops); "
               f"items with no {self.type} edge: {self.no_edge_share:.1%}"]
        for name, deg in (("out-degree", self.out_degrees), ("in-degree", self.in_degrees)):
            out.append(f"  {name:<10} {_summary(deg)}")
        out.append(f"  out-degree histogram  {_histogram(self.out_degrees)}")
        return out


def _summary(deg: np.ndarray) -> str:
    if deg.size == 0:
        return "no items"
    return (f"min {deg.min()}  median {np.median(deg):g}  mean {deg.mean():.2f}  "
            f"max {deg.max()}")


def _histogram(deg: np.ndarray, bins: int = 12) -> str:
    """Counts of items per degree (per degree range when there are many distinct degrees)."""
    if deg.size == 0:
        return "-"
    values, counts = np.unique(deg, return_counts=True)
    if len(values) <= bins:
        return "  ".join(f"{v}:{c}" for v, c in zip(values, counts))
    edges = np.unique(np.linspace(deg.min(), deg.max() + 1, bins + 1).astype(int))
    hist, _ = np.histogram(deg, bins=edges)
    return "  ".join(f"{lo}-{hi - 1}:{c}" for lo, hi, c in zip(edges[:-1], edges[1:], hist))


@dataclass
class GraphStats:
    dataset: str
    build: dict
    items: int
    isolated: int
    types: list[DegreeStats]

    @property
    def counts(self) -> dict:
        return json.loads(self.build.get("counts") or "{}")

    def lines(self) -> list[str]:
        b, c = self.build, self.counts
        out = [f"graph build {b['id']} of '{self.dataset}' ({b['created_at']}): knn_k={b['knn_k']}, "
               f"knn_jac={b['knn_jac']}, pure={b['pure']}, approximate={b['approximate']}",
               f"items {self.items:,}; with no edge of any type: {self.isolated:,} "
               f"({self.isolated / max(self.items, 1):.1%})"]
        for t in self.types:
            out.extend(t.lines())
        out.append(f"semantic neighbours removed by pure={b['pure']}: "
                   f"{c.get('similar_below_pure', 0):,} of "
                   f"{c.get('similar_below_pure', 0) + c.get('similar_edges', 0):,} top-k")
        if "approximate_recall" in c:
            out.append(f"approximate recall vs exact: {c['approximate_recall']:.4f} "
                       f"(sample of {c['recall_sample']} items)")
        return out


def graph_stats(store: Store, dataset: str) -> GraphStats:
    """Statistics of the dataset's active build; StageError if it has none."""
    build = active_build(store, dataset)
    types = []
    for edge_type in EDGE_TYPES:
        r = store.run("graph/degrees", dataset=dataset, type=edge_type, build=build["id"])[0]
        out_deg = np.asarray(r["out_degrees"], dtype=int)
        types.append(DegreeStats(edge_type, int(out_deg.sum()), int(r["loops"] or 0), out_deg,
                                 np.asarray(r["in_degrees"], dtype=int)))
    isolated = store.run("graph/isolated", dataset=dataset, build=build["id"])[0]["isolated"]
    return GraphStats(dataset, build, len(types[0].out_degrees), int(isolated), types)
