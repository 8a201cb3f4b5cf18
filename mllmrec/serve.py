"""Recommendations answered by Neo4j from the serving run's stored vectors.

``recommend`` scores items by the dot product of the user's and the items' learned vectors
(the model's own score), excludes every item the user already interacted with, and explains
each item with the user's item most connected to it in the item-item graph ("because").
Retrieval goes through the ``item_rec_key`` vector index (MIPS keys, see
:mod:`mllmrec.train.writeback`); ``exact=True`` scans the dataset's items instead. The index
spans every dataset and is approximate, so it is over-fetched and falls back to the exact scan
when filtering leaves fewer than ``k`` items.
"""
from __future__ import annotations

from dataclasses import dataclass

from mllmrec.db import Graph
from mllmrec.errors import MllmrecError, StageError


@dataclass
class Recommendation:
    item_id: str
    title: str | None
    score: float
    because: str
    via_item: str | None


def recommend(graph: Graph, dataset: str, user_id: str, k: int = 10,
              exact: bool = False) -> list[Recommendation]:
    """The ``k`` best unseen items for ``user_id`` from the dataset's serving run."""
    if k < 1:
        raise MllmrecError("k must be at least 1")
    rows = graph.run("serve/user_context", dataset=dataset, user=user_id)
    if not rows:
        raise StageError(f"no dataset named '{dataset}'")
    ctx = rows[0]
    if ctx["run"] is None:
        raise StageError(f"dataset '{dataset}' has no trained model yet; run 'mllmrec train'")
    if not ctx["user_found"]:
        raise MllmrecError(f"no user '{user_id}' in dataset '{dataset}'")
    if not ctx["has_vector"]:
        raise StageError(f"user '{user_id}' has no vector in serving run {ctx['run']} "
                         "(added after training?); retrain to include them")
    params = {"dataset": dataset, "user": user_id, "run": ctx["run"], "k": k}
    found: list[dict] = []
    if not exact:
        fetch = 2 * (k + ctx["n_seen"]) + 50
        for _ in range(3):
            found = graph.run("serve/candidates_index", fetch=fetch, **params)
            if len(found) >= k:
                break
            fetch *= 4
    if len(found) < k:
        found = graph.run("serve/candidates_exact", **params)
    return _explain(graph, dataset, user_id, ctx["build"], found)


def _explain(graph: Graph, dataset: str, user_id: str, build: str | None,
             found: list[dict]) -> list[Recommendation]:
    why = {}
    if build is not None and found:
        why = {r["item_id"]: r for r in graph.run("serve/because", dataset=dataset, user=user_id,
                                                  build=build, items=[f["id"] for f in found])}
    out = []
    for f in found:
        w = why.get(f["id"]) or {}
        out.append(Recommendation(f["id"], f["title"], float(f["score"]), because_text(w),
                                  w.get("via_id")))
    return out


def because_text(link: dict) -> str:
    """A short reason from the strongest item-item link, e.g.
    "similar to 'Heat (1995)' (cosine 0.81); co-occurs with it (Jaccard 0.22)"."""
    if not link or link.get("via_id") is None:
        return "close to your preference profile"
    parts = []
    if link.get("cosine") is not None:
        parts.append(f"similar to '{link['via_title'] or link['via_id']}' (cosine {link['cosine']:.2f})")
    if link.get("jaccard") is not None:
        who = "it" if parts else f"'{link['via_title'] or link['via_id']}'"
        parts.append(f"co-occurs with {who} (Jaccard {link['jaccard']:.2f})")
    return "; ".join(parts)
