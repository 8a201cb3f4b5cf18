"""Recommendations answered by Neo4j from the serving run's stored vectors.

``recommend`` scores items by the dot product of the user's and the items' learned vectors
(the model's own score), excludes every item the user already interacted with, and explains
each item with the user's item most connected to it in the item-item graph ("because").
One query (``cypher/serve/recommend``) does all of it in one round trip: the ``item_rec_key``
vector index (MIPS keys, see :mod:`mllmrec.train.writeback`) ranks the candidates and only
the best few are rescored by the exact dot product. The index spans every dataset and is
approximate, so it is over-fetched, widened when filtering leaves fewer than ``k`` items, and
replaced by an exact scan of the dataset's items as a last resort (``exact=True`` forces it),
or when the index holds another dimension than the serving run (one index spans every
dataset, with the dimension of the run that created it).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from neo4j.exceptions import ClientError

from mllmrec.db import Store
from mllmrec.errors import MllmrecError, StageError

#: Index searches widen the fetch by these factors before the exact scan takes over.
WIDEN = (1, 4, 16)
#: Candidates beyond k rescored exactly: float32 index order vs exact dot-product order.
RESCORE_MARGIN = 10


@dataclass
class Recommendation:
    item_id: str
    title: str | None
    score: float
    because: str
    via_item: str | None
    inductive: bool = False  # the item's vector was computed from text by `refresh` ("new: from text")


@dataclass
class Served:
    """Recommendations for one user, and whether the user's own vector came from text
    (``refresh``: a user the serving run was not trained on)."""

    items: list[Recommendation]
    user_inductive: bool


def recommend(store: Store, dataset: str, user_id: str, k: int = 10,
              exact: bool = False) -> list[Recommendation]:
    """The ``k`` best unseen items for ``user_id`` from the dataset's serving run."""
    return recommend_for(store, dataset, user_id, k, exact).items


def recommend_for(store: Store, dataset: str, user_id: str, k: int = 10,
                  exact: bool = False) -> Served:
    """:func:`recommend` with the user's "new: from text" mark."""
    if k < 1:
        raise MllmrecError("k must be at least 1")
    params = {"dataset": dataset, "user": user_id, "k": k, "margin": RESCORE_MARGIN}
    row: dict[str, Any] = {}
    for widen in (() if exact else WIDEN):
        try:
            row = _query(store, params, exact=False, widen=widen)
        except ClientError as exc:
            if not _other_dimension(exc):
                raise
            row = {}  # the shared index holds another dimension than this run: scan
            break
        if len(row["found"]) >= k:
            break
    if len(row.get("found", [])) < k:
        row = _query(store, params, exact=True, widen=1)
    return Served([Recommendation(f["id"], f["title"], float(f["score"]), because_text(f["why"] or {}),
                                  (f["why"] or {}).get("via_id"), bool(f["inductive"]))
                   for f in row["found"]], bool(row["user_inductive"]))


def _other_dimension(exc: ClientError) -> bool:
    """Whether the vector index refused the query vector's dimension: the learned-vector
    indexes span every dataset with the dimension of the run that made them, so a run of
    another ``train.dim`` is served by the exact scan (``ensure_indexes`` warns at training)."""
    return "dimensions, but indexed vectors have" in (exc.message or "")


def _query(store: Store, params: dict[str, Any], exact: bool, widen: int) -> dict[str, Any]:
    """One round trip of ``serve/recommend`` (its row, ``found`` never None); clear errors for
    what cannot be served."""
    dataset, user_id = params["dataset"], params["user"]
    rows = store.run("serve/recommend", exact=exact, widen=widen, **params)
    if not rows:
        raise StageError(f"no dataset named '{dataset}'")
    row = rows[0]
    if row["run"] is None:
        raise StageError(f"dataset '{dataset}' has no trained model yet; run 'mllmrec train'")
    if not row["user_found"]:
        raise MllmrecError(f"no user '{user_id}' in dataset '{dataset}'")
    if not row["has_vector"]:
        raise StageError(f"user '{user_id}' has no vector in serving run {row['run']} "
                         "(added after training?); run 'mllmrec refresh' to serve them from "
                         "their preference text, or retrain")
    return {**row, "found": list(row["found"] or [])}


def because_text(link: dict[str, Any]) -> str:
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
