"""A few recommendations for one user at the end of a pipeline run, through the serving
entry point :func:`mllmrec.serve.recommend`."""
from __future__ import annotations

import dataclasses
from typing import Any

from mllmrec.db import Store
from mllmrec.serve import recommend


def sample_user(store: Store, dataset: str) -> str | None:
    rows = store.run("ops/sample_user", dataset=dataset)
    return rows[0]["id"] if rows else None


def _row(rec: Any) -> dict[str, Any]:
    if isinstance(rec, dict):
        return rec
    if dataclasses.is_dataclass(rec) and not isinstance(rec, type):
        return dataclasses.asdict(rec)
    return {"item": rec}


def sample_recommendations(store: Store, dataset: str, user: str | None,
                           k: int) -> tuple[str, list[dict[str, Any]]]:
    """(user, rows) from the serving run."""
    user = user or sample_user(store, dataset)
    if user is None:
        return "-", []
    return user, [_row(r) for r in recommend(store, dataset, user, k)]
