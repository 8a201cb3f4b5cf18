"""A few recommendations for one user at the end of a pipeline run, through the serving
entry point :func:`mllmrec.serve.recommend` (reported as unavailable until it exists)."""
from __future__ import annotations

import dataclasses
from typing import Any

from mllmrec.db import Graph
from mllmrec.ops.stages import load_entry


def sample_user(graph: Graph, dataset: str) -> str | None:
    rows = graph.run("ops/sample_user", dataset=dataset)
    return rows[0]["id"] if rows else None


def _row(rec: Any) -> dict[str, Any]:
    if isinstance(rec, dict):
        return rec
    if dataclasses.is_dataclass(rec):
        return dataclasses.asdict(rec)
    return {"item": rec}


def sample_recommendations(graph: Graph, dataset: str, user: str | None,
                           k: int) -> tuple[str, list[dict[str, Any]]] | None:
    """(user, rows) from the serving run, or None when the serving code is not installed."""
    recommend = load_entry("mllmrec.serve:recommend")
    if recommend is None:
        return None
    user = user or sample_user(graph, dataset)
    if user is None:
        return "-", []
    return user, [_row(r) for r in recommend(graph, dataset, user, k)]
