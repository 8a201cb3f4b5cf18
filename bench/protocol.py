"""Section ``protocol``: how much the published protocol inflates MLLMRec's numbers on the
benchmark dataset.

Two choices differ between the authors' code and this project (docs/method.md sections 3 and 7):
user texts built from all splits (``enrich.history_scope = "all"``) instead of training
interactions only, and the grid-search configuration picked on test Recall@20 instead of
validation Recall@20. The same grid (:mod:`bench.grid`) is trained with each user-text scope;
the four (scope, selection) cells and each cell's inflation over the honest one (train-only
texts, chosen on validation) are reported, for Recall@20 and NDCG@20, absolute and relative.
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any, cast

from bench.common import enrichment_note
from bench.context import Context
from bench.grid import GridPoint, built, choices, points, prepare_users, run_grid
from bench.options import SCOPES
from bench.train_runs import Aggregate
from mllmrec.config import Settings
from mllmrec.db import Store

log = logging.getLogger(__name__)

METRICS = ("recall@20", "ndcg@20")
#: (user-text scope, selection split) -> what the cell is, honest first, published last.
CELLS = (("train", "valid", "this project: training-only user texts, chosen on validation"),
         ("all", "valid", "leaky user texts only"),
         ("train", "test", "test-set selection only"),
         ("all", "test", "published protocol: all-splits user texts, chosen on test"))


def section(ctx: Context) -> None:
    """Train the grid of ``--grid-*`` with every seed for each of ``--protocol-scopes``; the
    default configuration's training-only row becomes MLLMRec's row of the quality table."""
    o = ctx.options
    log.info("== protocol")
    extra = {"dataset": o.dataset, "note": enrichment_note(ctx.settings)}
    done = run_protocol(ctx.store, ctx.settings, points(o.grid), o.seeds,
                        on_progress=ctx.keeper("protocol", **extra), scopes=o.protocol_scopes)
    ctx.save("protocol", {**extra, **done})
    default = next((r for r in done["grid"].get("train", [])
                    if r["config"] == built(ctx.settings)), None)
    if default is not None:
        ctx.mllmrec = cast(Aggregate, {**default, "model": "MLLMRec", "label": "MLLMRec"})


def run_protocol(store: Store, settings: Settings, grid: list[GridPoint],
                 seeds: Sequence[int],
                 on_progress: Callable[[dict[str, Any]], None] | None = None,
                 scopes: Sequence[str] = SCOPES) -> dict[str, Any]:
    """Train the grid (:func:`bench.grid.run_grid`, ``mllmrec tune``'s search) with each
    user-text scope of ``scopes`` on ``settings.dataset`` (ingested, embedded), then restore
    the training-only user texts (the grid never changes the active graph build).
    ``on_progress`` sees the section after each grid point. Two processes may each run one
    scope on their own server (same split, seeds and code): :func:`merge` joins their
    sections."""
    grids: dict[str, list[dict[str, Any]]] = {}
    try:
        for scope in scopes:
            s = settings.with_overrides({"enrich.history_scope": scope})
            log.info("protocol: user texts with history scope %s", scope)
            prepare_users(store, s)
            def partial(rows: list[dict[str, Any]], scope: str = scope) -> None:
                if on_progress:
                    on_progress(summarise({**grids, scope: rows}, settings, seeds, grid))

            grids[scope] = run_grid(store, s, grid, seeds, f"protocol-{scope}", partial)
    finally:
        log.info("protocol: restoring training-only user texts")
        prepare_users(store, settings)
    return summarise(grids, settings, seeds, grid)


def _cells(chosen: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """The (scope, selection) cells present, each with its inflation over the honest cell
    (train-only texts, chosen on validation; absent: no inflation is computed)."""
    cells = [{"scope": scope, "selection": split, "what": what, **chosen[scope][split]}
             for scope, split, what in CELLS if scope in chosen]
    honest = chosen.get("train", {}).get("valid", {}).get("test")
    for cell in cells:
        cell["inflation"] = {m: {"absolute": cell["test"][m] - honest[m],
                                 "relative": (cell["test"][m] - honest[m]) / honest[m]
                                 if honest[m] else None} for m in METRICS} if honest else None
    return cells


def summarise(grids: dict[str, list[dict[str, Any]]], settings: Settings,
              seeds: Sequence[int], grid: list[GridPoint] | None = None) -> dict[str, Any]:
    """The four cells and their inflation over the honest cell (see module docstring);
    ``missing`` names the scopes not trained yet and ``missing_points`` the grid points a
    scope has not finished (``grid``: the planned points)."""
    chosen = {scope: choices(rows) for scope, rows in grids.items()}
    planned = grid or []
    return {"grid": grids, "cells": _cells(chosen), "seeds": list(seeds),
            "missing": [scope for scope in SCOPES if scope not in grids],
            "missing_points": {scope: [p for p in planned if p not in [r["config"] for r in rows]]
                               for scope, rows in grids.items()},
            "max_epochs": settings.train.epochs, "patience": settings.train.patience,
            "no_llm": settings.enrich.no_llm}


def joined(section: dict[str, Any]) -> list[str]:
    """The user-text scopes a run's section holds, as the report's provenance names them."""
    return list(section.get("grid", {}))


def merge(section: dict[str, Any], other: dict[str, Any]) -> dict[str, Any] | None:
    """``section`` completed with the scopes it lacks from ``other`` when both were measured
    under the same conditions (dataset, seeds, epochs, patience, enrichment); None when they
    do not match or ``other`` adds nothing. Grid points either run did not finish stay listed
    in ``missing_points``."""
    same = all(section.get(k) == other.get(k)
               for k in ("dataset", "seeds", "max_epochs", "patience", "no_llm"))
    wanted = {scope: rows for scope, rows in other.get("grid", {}).items()
              if scope in section.get("missing", [])}
    if not same or not wanted:
        return None
    grids = {**section["grid"], **wanted}
    grids = {scope: grids[scope] for scope in SCOPES if scope in grids}
    chosen = {scope: choices(rows) for scope, rows in grids.items()}
    cells = _cells(chosen)
    missing_points = {**section.get("missing_points", {}),
                      **{k: v for k, v in other.get("missing_points", {}).items() if k in wanted}}
    return {**section, "grid": grids, "cells": cells, "missing_points": missing_points,
            "missing": [scope for scope in SCOPES if scope not in grids]}
