"""Grid search over the item-item graph settings ``knn_k``, ``knn_jac`` and ``pure`` for
MLLMRec, for the ``protocol`` section: the configuration chosen on VALIDATION Recall@20 (this
project's rule, docs/method.md section 7) beside the one the TEST split would choose (what the
authors' grid script reports), with the test scores of both.

The search is the product's (``mllmrec tune``, :func:`mllmrec.tune.study.run_study`): one
study per seed with Optuna's grid sampler over the grid, no pruner, the bench's epoch cap
and patience; each grid point's graph is a side build made once and reused, the active build
is never touched. The product reads validation only. The protocol comparison needs every
point's TEST metrics as well, so this module computes them itself, explicitly, after each
trial, from the trial's reloaded best weights (:func:`evaluated`): they are only ever used to
measure how optimistic the test-chosen row is, never to choose what the product serves.
"""
from __future__ import annotations

import itertools
import logging
import math
import sys
from collections.abc import Callable, Sequence
from typing import Any

import optuna

from bench.options import GridSpec
from bench.train_runs import MODEL_NAMES, TrainResult, aggregate, per_user_scores, summarise
from mllmrec.config import Settings
from mllmrec.db import Store
from mllmrec.train.record import RunSummary

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


def study_settings(settings: Settings, grid: list[GridPoint], seed: int, name: str) -> Settings:
    """The tuning settings of one seed's grid study: MLLMRec, the grid as the space (which
    must be the full product of its values), grid sampler, no pruner, the bench's epochs."""
    space = {k: sorted({p[k] for p in grid}) for k in KEYS}
    if len(grid) != math.prod(len(v) for v in space.values()):
        raise ValueError("the grid must be the product of its knn_k, knn_jac and pure values")
    return settings.with_overrides({
        "train.model": "mllmrec", "train.seed": seed,
        "tune.space": {k: {"choices": v} for k, v in space.items()}, "tune.sampler": "grid",
        "tune.pruner": "none", "tune.n_trials": len(grid), "tune.epochs": settings.train.epochs,
        "tune.patience": settings.train.patience, "tune.study_name": f"{name}-seed{seed}"})


def evaluated(store: Store, settings: Settings, trial: optuna.trial.FrozenTrial,
              summary: RunSummary) -> TrainResult:
    """A finished trial as the report sees a training run, with its test metrics and
    per-user test scores computed here, explicitly, from its best weights (the bench's
    protocol comparison; the product never reads them for a trial)."""
    import torch

    from mllmrec.train.data import TEST
    from mllmrec.train.metrics import evaluate_model
    from mllmrec.tune.winner import load_trial_model

    s, data, model = load_trial_model(store, settings, trial)
    ks = sorted(set(s.train.topks) | {20})
    with torch.no_grad():
        summary.metrics["test"] = evaluate_model(model, data, TEST, ks, s.train.eval_batch_size)
        users, items = (t.detach().cpu().numpy() for t in model.all_repr())
    name = MODEL_NAMES["mllmrec"]
    return {**summarise(summary), "model": name, "label": name, "seed": s.train.seed,
            "seconds": summary.seconds, "peak_rss_mb": summary.peak_memory_mb,
            "per_user_test": per_user_scores(data, users, items)}


def run_grid(store: Store, settings: Settings, grid: list[GridPoint], seeds: Sequence[int],
             name: str = "grid", on_point: Callable[[list[dict[str, Any]]], None] | None = None,
             ) -> list[dict[str, Any]]:
    """Train MLLMRec at every grid point with every seed on ``settings.dataset`` (whose user
    texts must already be in the wanted scope) through ``mllmrec tune``'s study, one study
    (``<name>-seed<seed>``) per seed. Returns one aggregated row per point, in grid order,
    with its ``config`` and ``label``. ``on_point`` sees the rows finished so far (grid order)
    after each trial; a point still short of seeds lists only the seeds it has."""
    from mllmrec.tune.study import run_study

    runs: dict[int, list[TrainResult]] = {}
    summaries: dict[str, RunSummary] = {}

    def rows() -> list[dict[str, Any]]:
        return [{**aggregate(runs[i]), "config": grid[i],
                 "label": ", ".join(f"{k}={v}" for k, v in grid[i].items())} for i in sorted(runs)]

    for seed in seeds:
        s = study_settings(settings, grid, seed, name)

        def after(study: optuna.Study, trial: optuna.trial.FrozenTrial, s: Settings = s) -> None:
            summary = summaries.pop(str(trial.user_attrs.get("run_id")), None)
            if summary is None:  # pruned or failed: no run to report
                return
            point = {k: trial.params[k] for k in KEYS}
            runs.setdefault(grid.index(point), []).append(evaluated(store, s, trial, summary))
            if on_point:
                on_point(rows())

        run_study(store, s, progress=sys.stderr.isatty(), on_trial=after,
                  on_run=lambda r: summaries.__setitem__(r.run_id, r))
    for found in runs.values():
        found.sort(key=lambda r: list(seeds).index(r["seed"]))
    return rows()


def select(rows: list[dict[str, Any]], split: str, metric: str = SELECT_METRIC) -> dict[str, Any]:
    """The row with the best mean ``split`` ``metric`` (first in grid order on ties)."""
    return max(rows, key=lambda r: (r[split][metric], -rows.index(r)))


def choices(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The configuration chosen on validation (this project's rule, what ``mllmrec tune``
    does) and, explicitly for comparison, the one the test split would choose, each with its
    mean/std validation and test metrics."""
    out = {}
    for split in ("valid", "test"):
        r = select(rows, split)
        out[split] = {"config": r["config"], "valid": r["valid"], "test": r["test"],
                      "test_std": r["test_std"], "seeds": r["seeds"]}
    return out
