"""New items joined to the active build's semantic graph G_s without a rebuild (``refresh``).

The build's rule (:mod:`mllmrec.graph.semantic`): each item's row of G_s holds its top
``knn_k`` items by cosine (itself included), kept where cosine >= ``pure``. Adding new items
changes two kinds of rows, and refresh writes both into the active build with that build's
own ``knn_k``, ``pure`` and search mode (read from its GraphBuild node, not from today's
settings), so the SIMILAR edges end as a build with the new items would have made them (exactly
so in exact mode; approximate builds search the same index the same way):

- new -> all: each new item's row, found by the build's neighbour search
  (:func:`~mllmrec.graph.semantic.neighbours`: brute force in exact mode, the vector index in
  approximate mode) over every embedded item, new ones included.
- all -> new: an existing item x gains new item n when n now ranks in x's top ``knn_k``. Such a
  pair has cos(x, n) >= pure, so the candidates are found from the new item's side (exact mode:
  every item with cos >= pure; approximate mode: the index's nearest items) and merged into x's
  current row: x's row becomes the best ``knn_k`` of (its row, its new candidates) by cosine
  then id. When x's row was full (``knn_k`` kept neighbours) the new item displaces its worst
  neighbour: the row keeps ``knn_k`` edges, so x's SIMILAR degree is unchanged; when x kept
  fewer (the rest were below ``pure``) the row grows. The degrees the model normalises with
  (``A = D^-1/2 G D^-1/2``, d = row sums of G) are those of the rows as written.

Co-occurrence (CO_OCCURS) is not touched: it needs training interactions, which a new item
gets at the next training run (its interactions are folded in by the next build and retrain).
Rows are written whole (delete the source's SIMILAR edges of the build, write the new row),
one transaction per batch, so a refresh interrupted half-way is simply run again.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from mllmrec.db import Store, chunks
from mllmrec.graph.semantic import (
    INDEX,
    Neighbours,
    Search,
    concurrent_neighbours,
    embedded_items,
    index_fetch,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BuildRule:
    """The semantic-graph parameters of one build, as stored on its GraphBuild node."""

    id: str
    knn_k: int
    pure: float
    approximate: bool
    index_candidates: int


@dataclass
class EdgeUpdate:
    """What joining new items to a build's SIMILAR graph changed."""

    new_items: int = 0
    new_item_edges: int = 0  # SIMILAR rows written for the new items (self-loops included)
    touched: list[str] = field(default_factory=list)  # existing items whose row gained a new item
    edges_to_new: int = 0  # existing -> new edges added
    displaced: int = 0  # existing -> existing edges pushed out of a full top-k

    def counts(self) -> dict[str, int]:
        return {"new_items": self.new_items, "new_item_edges": self.new_item_edges,
                "touched_items": len(self.touched), "edges_to_new": self.edges_to_new,
                "displaced_edges": self.displaced}


def _key(row: dict[str, Any]) -> tuple[float, str]:
    """The build's order of a row: cosine descending, then target id."""
    return (-float(row["cosine"]), str(row["target"]))


def merge_row(current: list[dict[str, Any]], candidates: list[dict[str, Any]],
              knn_k: int) -> list[dict[str, Any]]:
    """The best ``knn_k`` of an item's current row and its new candidates (both already kept,
    cosine >= pure), one entry per target, in the build's order."""
    by_target = {r["target"]: r for r in current}
    for c in candidates:
        by_target.setdefault(c["target"], c)
    return sorted(by_target.values(), key=_key)[:knn_k]


def add_items(store: Store, dataset: str, rule: BuildRule, new_ids: list[str],
              batch_items: int = 500, workers: int = 2) -> EdgeUpdate:
    """Join ``new_ids`` (embedded items of ``dataset``) to build ``rule.id``'s SIMILAR graph
    (module docstring); returns what changed."""
    update = EdgeUpdate(new_items=len(new_ids))
    if not new_ids:
        return update
    search: Search = "approximate" if rule.approximate else "exact"
    fetch = index_fetch(embedded_items(store, dataset), rule.index_candidates) if rule.approximate else 0
    batches = list(chunks(sorted(new_ids), batch_items))
    for found in concurrent_neighbours(store, dataset, batches, rule.knn_k, search, fetch, workers):
        rows = [{"source": s, "neighbours": [{"target": t, "cosine": c} for t, c in nbrs
                                             if c >= rule.pure]}
                for s, nbrs in found.items()]
        _write_rows(store, dataset, rule.id, rows)
        update.new_item_edges += sum(len(r["neighbours"]) for r in rows)
    reverse = reverse_candidates(store, dataset, rule, batches, new_ids, fetch)
    _merge_reverse(store, dataset, rule, reverse, batch_items, update)
    log.info("%s: %d new items joined build %s: %d edges from them, %d existing items gained "
             "one (%d edges displaced)", dataset, len(new_ids), rule.id, update.new_item_edges,
             len(update.touched), update.displaced)
    return update


def reverse_candidates(store: Store, dataset: str, rule: BuildRule, batches: list[list[str]],
                       new_ids: list[str], fetch: int) -> Neighbours:
    """For each existing item, the new items with cos >= pure to it: (new id, cosine)."""
    out: Neighbours = {}
    name = "refresh/reverse_approximate" if rule.approximate else "refresh/reverse_exact"
    for batch in batches:
        for r in store.run(name, dataset=dataset, sources=batch, new=new_ids, pure=rule.pure,
                           index=INDEX, fetch=fetch):
            for x in r["items"]:
                out.setdefault(x["item"], []).append((r["source"], x["cosine"]))
    return out


def _merge_reverse(store: Store, dataset: str, rule: BuildRule, reverse: Neighbours,
                   batch_items: int, update: EdgeUpdate) -> None:
    """Merge the new candidates into the rows of the existing items they reach; write the
    rows that changed."""
    for batch in chunks(sorted(reverse), batch_items):
        current = {r["source"]: [n for n in r["neighbours"] if n["target"] is not None]
                   for r in store.run("refresh/similar_rows", dataset=dataset, sources=batch,
                                      build=rule.id)}
        rows = []
        for x in batch:
            old = current.get(x, [])
            row = merge_row(old, [{"target": t, "cosine": c} for t, c in reverse[x]], rule.knn_k)
            old_targets, new_targets = {n["target"] for n in old}, {n["target"] for n in row}
            if new_targets == old_targets:
                continue
            rows.append({"source": x, "neighbours": row})
            update.touched.append(x)
            update.edges_to_new += len(new_targets - old_targets)
            update.displaced += len(old_targets - new_targets)
        _write_rows(store, dataset, rule.id, rows)


def _write_rows(store: Store, dataset: str, build: str, rows: list[dict[str, Any]]) -> None:
    store.write_batches("refresh/replace_similar", rows, batch_size=500, desc=False,
                        dataset=dataset, build=build)
