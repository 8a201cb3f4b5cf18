"""Section ``tune`` (``python -m bench tune``): what ``mllmrec tune`` buys on the bench dataset
(issue 20).

The product's own study (:func:`mllmrec.tune.study.run_study`: the default search space,
sampler, pruner and trial budget of ``tune.*``, chosen on validation Recall@20 only) runs on
the dataset the ``stages`` section prepared. Then the winner's configuration is trained to
convergence (the bench's epoch cap and patience, not the trials' short ones) with every seed,
beside the default MLLMRec (shared with the other sections of the run) and LightGCN with the
same seeds, and paired tests compare the
winner with each. Test metrics appear only here, after the study chose on validation.
"""
from __future__ import annotations

import logging
from typing import Any

from bench.context import Context
from bench.train_runs import Aggregate, paired_test, repeat

log = logging.getLogger(__name__)

QUICK = {"tune.n_trials": 4, "tune.epochs": 4, "tune.patience": 2}


def section(ctx: Context) -> None:
    """The study, then the three configurations with every seed, saved after each step."""
    from mllmrec.tune.report import trial_rows
    from mllmrec.tune.space import overrides
    from mllmrec.tune.study import load_study, run_study

    o = ctx.options
    settings = ctx.settings.with_overrides(QUICK if o.quick else {})
    log.info("== tune (%d trials on %s)", settings.tune.n_trials, settings.dataset)
    outcome = run_study(ctx.store, settings, progress=False)
    if outcome.best is None:
        raise RuntimeError(f"study '{outcome.name}' finished without a complete trial")
    best = outcome.best
    result: dict[str, Any] = {
        "dataset": o.dataset, "seeds": list(o.seeds), "study": outcome.name,
        "trials": trial_rows(load_study(settings)), "counts": outcome.counts,
        "seconds": outcome.seconds, "budget": settings.tune.model_dump(mode="json"),
        "best": {"trial": best.number, "params": dict(best.params), "valid_recall@20": best.value},
        "winner_single_run": outcome.winner_metrics,
        "max_epochs": settings.train.epochs, "patience": settings.train.patience, "models": []}
    models: list[Aggregate] = result["models"]

    def save(_: Any = None) -> None:
        result["paired_tests"] = [paired_test(models[0], m) for m in models[1:]]
        ctx.save("tune", result)

    save()
    winner = settings.with_overrides(overrides(best.params))
    build = best.user_attrs.get("graph_build")
    models.append(repeat(ctx.store, winner, o.seeds, label="tuned (study winner)",
                         graph_build=str(build) if build else None))
    save()
    models.append(ctx.default_mllmrec())
    save()
    models.append(repeat(ctx.store, settings.with_overrides({"train.model": "lightgcn"}), o.seeds))
    save()
