"""Grid search over the item-item graph settings ``knn_k``, ``knn_jac`` and ``pure`` for
MLLMRec, for the ``protocol`` section: the configuration chosen on VALIDATION Recall@20 (this
project's rule, docs/method.md section 7) beside the one the TEST split would choose (what the
authors' grid script reports), with the test scores of both.

Each grid point rebuilds the item-item graph (``build-graph``) and trains every seed with
the real trainer; points are ordered so consecutive points share as much as possible. The
test split never decides anything here: the test-chosen row is kept only to measure how
optimistic that choice is.
"""
from __future__ import annotations

import itertools
import logging
from collections.abc import Callable, Sequence
from typing import Any

from bench.options import GridSpec
from bench.train_runs import Aggregate, TrainResult, repeat
from mllmrec.config import Settings
from mllmrec.db import Store

log = logging.getLogger("bench.grid")

KEYS = ("knn_k", "knn_jac", "pure")
SELECT_METRIC = "recall@20"
GridPoint = dict[str, float]  # {"knn_k": .., "knn_jac": .., "pure": ..}


def points(grid: GridSpec) -> list[GridPoint]:
    """Every combination of the grid's values, in grid order."""
    values: list[Sequence[float]] = [grid.knn_k, grid.knn_jac, grid.pure]
    return [dict(zip(KEYS, combo)) for combo in itertools.product(*values)]


def prepare_users(store: Store, settings: Settings) -> None:
    """Profile and embed the users with ``settings.enrich`` (history scope, no-LLM path): a
    no-op for users whose text is already up to date."""
    from mllmrec.enrich.embed import embed_texts
    from mllmrec.enrich.profile import profile_users

    profile_users(store, settings)
    embed_texts(store, settings)


def built(settings: Settings) -> GridPoint:
    """The grid point of ``settings.graph``."""
    return {k: getattr(settings.graph, k) for k in KEYS}


def run_grid(store: Store, settings: Settings, grid: list[GridPoint], seeds: Sequence[int],
             current: GridPoint | None = None, first: TrainResult | None = None,
             on_point: Callable[[list[dict[str, Any]]], None] | None = None,
             ) -> tuple[list[dict[str, Any]], GridPoint | None]:
    """Train MLLMRec at every grid point with every seed on ``settings.dataset`` (whose user
    texts must already be in the wanted scope). ``current`` is the graph configuration now
    built in Neo4j (its point is trained first, without a rebuild); ``first``, an existing
    run of that point with ``seeds[0]``, is reused. Returns one aggregated row per point, in
    grid order, with its ``config``, and the configuration left built. ``on_point`` sees the
    rows finished so far (grid order) after each training run; a point still short of seeds
    lists only the seeds it has."""
    from mllmrec.graph.build import build_graph

    order = sorted(grid, key=lambda p: p != current)
    rows: dict[int, dict[str, Any]] = {}
    for point in order:
        s = settings.with_overrides({"train.model": "mllmrec",
                                     **{f"graph.{k}": v for k, v in point.items()}})
        reused = first if point == current and first and first["seed"] == seeds[0] else None
        if point != current:
            log.info("grid: building the item-item graph for %s", point)
            build_graph(store, s)
            current = point
        label = ", ".join(f"{k}={v}" for k, v in point.items())
        def row(agg: Aggregate, point: GridPoint = point, label: str = label) -> dict[str, Any]:
            return {**agg, "config": point, "label": label}

        def progress(agg: Aggregate, i: int = grid.index(point)) -> None:
            if on_point:  # the point with the seeds finished so far
                on_point([{**rows, i: row(agg)}[k] for k in sorted({*rows, i})])

        rows[grid.index(point)] = row(repeat(store, s, seeds, label=label, first=reused,
                                             on_run=progress))
        if on_point:
            on_point([rows[i] for i in sorted(rows)])
    return [rows[i] for i in range(len(grid))], current


def select(rows: list[dict[str, Any]], split: str, metric: str = SELECT_METRIC) -> dict[str, Any]:
    """The row with the best mean ``split`` ``metric`` (first in grid order on ties)."""
    return max(rows, key=lambda r: (r[split][metric], -rows.index(r)))


def choices(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The configuration chosen on validation and the one the test split would choose, each
    with its mean/std validation and test metrics."""
    out = {}
    for split in ("valid", "test"):
        r = select(rows, split)
        out[split] = {"config": r["config"], "valid": r["valid"], "test": r["test"],
                      "test_std": r["test_std"], "seeds": r["seeds"]}
    return out
