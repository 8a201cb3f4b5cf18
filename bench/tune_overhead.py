"""Section ``tune-overhead``: what one trial of ``mllmrec tune`` costs beyond the same ``train``
run (issue 20: a trial adds no more than 5%).

The dataset is ``--dataset`` (MovieLens 100K by default) as the ``stages`` section leaves it:
the real ingest, describe, profile, embed and build-graph, no training (without
``$MLLMREC_DATA/ml-100k`` the stages stop with "MovieLens 100K not found"). One configuration,
the configured model (MLLMRec) on the active graph build with ``train.seed``, trains exactly
:data:`EPOCHS` epochs (``--quick``: :data:`QUICK_EPOCHS`) in every run: patience equals the
epoch count, so nothing stops early, and the study has no pruner. Each repeat runs the three
below, interleaved (the order rotates from one repeat to the next); :data:`REPEATS` repeats,
medians reported:

- ``train``: :func:`mllmrec.train.job.train_model` as ``mllmrec train`` calls it (the test
  split pulled and evaluated at the best epoch, vectors staged and served, a ``train``
  StageRun);
- ``trainer``: the same call with ``trial=True, serve=False``: exactly the trainer's work in a
  trial, without the study around it;
- ``trial``: one more trial of a real study through :func:`mllmrec.tune.study.run_study` (one
  study per measurement, SQLite storage in the runs folder, the space pinned to this one
  configuration, ``tune.n_trials`` raised by one per repeat so each call runs one trial).

What counts as the trial: from Optuna's ``datetime_start`` (set when ``study.ask`` creates the
trial, before the sampler draws) to the end of ``run_study``'s per-trial callback. That is
the drawing, :func:`mllmrec.graph.build.ensure_build` finding the active build (it reads the
item vectors to choose the kNN mode), the TrainingRun, ``trial.report`` and ``should_prune``
after every epoch, the ``TRIAL`` link, ``tell`` and the ``(:TuningStudy)`` progress update.
What a ``tune`` invocation does once whatever its number of trials (opening the storage,
creating or loading the study, the TuningStudy node, the ``tune`` StageRun, the graph inputs'
fingerprint and, once the last trial finished, the winner's test evaluation) is not a trial's
cost: it is reported beside it as ``once_seconds``, ``run_study``'s whole time minus the
trial's (the first repeat creates the study and evaluates the winner; later repeats find both
done).

Targets: ``trial / train <= 1.05`` (the issue's figure). A trial skips the test split and the
staging of vectors, so that ratio can hide the study's own cost; ``trial / trainer`` (the same
trainer work) is the study's bookkeeping alone, reported with the same target.
"""
from __future__ import annotations

import logging
import statistics
import time
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

import optuna

from bench.common import load_average
from bench.context import Context
from mllmrec.config import Settings
from mllmrec.db import Store
from mllmrec.train.job import train_model
from mllmrec.train.record import RunSummary

log = logging.getLogger(__name__)

EPOCHS = 20
QUICK_EPOCHS = 5
REPEATS = 3
TARGET = 1.05
KINDS = ("train", "trainer", "trial")


def section(ctx: Context) -> None:
    """The three runs on ``--dataset``, interleaved, saved after every repeat."""
    epochs = QUICK_EPOCHS if ctx.options.quick else EPOCHS
    log.info("== tune-overhead on %s: %d epochs, %d repeats", ctx.options.dataset, epochs, REPEATS)
    keep = ctx.keeper("tune-overhead", source=ctx.options.dataset)
    keep(measure_overhead(ctx.store, ctx.settings, epochs, REPEATS, on_repeat=keep))


def overhead_settings(settings: Settings, epochs: int, study: str) -> Settings:
    """``settings`` training exactly ``epochs`` epochs (patience as long, no pruner) and a
    study ``study`` whose space is this one configuration (storage: the runs folder)."""
    t, g = settings.train, settings.graph
    pinned = {"model": t.model, "lr": t.lr, "dim": t.dim, "knn_k": g.knn_k,
              "knn_jac": g.knn_jac, "pure": g.pure}
    s = settings.with_overrides({
        "train.epochs": epochs, "train.patience": epochs, "tune.epochs": epochs,
        "tune.patience": epochs, "tune.pruner": "none", "tune.study_name": study,
        "tune.space": {k: {"choices": [v]} for k, v in pinned.items()}})
    s.tune.storage = None  # the default SQLite file, even when the config names a shared one
    return s


def _timed_train(store: Store, s: Settings, trial: bool) -> dict[str, Any]:
    t0 = time.perf_counter()
    summary = train_model(store, s, serve=not trial, trial=trial, progress=False)
    seconds = time.perf_counter() - t0
    assert summary is not None  # one process
    return _row(seconds, summary)


def _row(seconds: float, summary: RunSummary, **extra: Any) -> dict[str, Any]:
    return {"seconds": seconds, "epochs": summary.epochs, "run": summary.run_id,
            "graph_build": summary.graph_build, "load_average": load_average()[0], **extra}


def _timed_trial(store: Store, s: Settings) -> dict[str, Any]:
    """One more trial of the study of ``s`` (see the module docstring for what is timed)."""
    from mllmrec.tune.study import run_study

    ended: dict[str, Any] = {}
    summaries: dict[str, RunSummary] = {}

    def on_trial(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        ended.update(trial=trial, at=datetime.now())

    t0 = time.perf_counter()
    run_study(store, s, progress=False, on_trial=on_trial,
              on_run=lambda r: summaries.__setitem__(r.run_id, r))
    whole = time.perf_counter() - t0
    trial = ended.get("trial")
    if trial is None or trial.state != optuna.trial.TrialState.COMPLETE:
        raise RuntimeError(f"the study ran no complete trial ({trial and trial.state.name})")
    seconds = (ended["at"] - trial.datetime_start).total_seconds()
    summary = summaries[str(trial.user_attrs["run_id"])]
    return _row(seconds, summary, trial=trial.number, reported_epochs=len(trial.intermediate_values),
                study_call_seconds=whole, once_seconds=whole - seconds)


def measure_overhead(store: Store, settings: Settings, epochs: int = EPOCHS,
                     repeats: int = REPEATS,
                     on_repeat: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:
    """Time ``train``, ``trainer`` and ``trial`` (module docstring) ``repeats`` times each on
    ``settings.dataset``, which must have its active graph build. Returns ``{epochs, repeats,
    model, study, runs: [{repeat, kind, seconds, epochs, run, graph_build, ...}], medians
    (``train_seconds`` ...), ratio, trainer_ratio, target, met, trainer_met, load averages}``;
    ``on_repeat`` sees the same after every repeat. Raises RuntimeError when the runs did not
    do the same work (another epoch count or graph build): such a ratio would mean nothing."""
    study = f"tune-overhead-{uuid.uuid4().hex[:6]}"
    s = overhead_settings(settings, epochs, study)
    out: dict[str, Any] = {"epochs": epochs, "repeats": repeats, "model": s.train.model,
                           "seed": s.train.seed, "threads": s.train.threads, "study": study,
                           "target": TARGET, "load_average_start": load_average(), "runs": []}
    for r in range(repeats):
        for kind in KINDS[r % len(KINDS):] + KINDS[:r % len(KINDS)]:
            log.info("tune-overhead: repeat %d, %s", r + 1, kind)
            row = (_timed_trial(store, s.with_overrides({"tune.n_trials": r + 1}))
                   if kind == "trial" else _timed_train(store, s, trial=kind == "trainer"))
            _check(row, epochs, out["runs"])
            out["runs"].append({"repeat": r, "kind": kind, **row})
        out.update(summarise(out["runs"]), load_average_end=load_average())
        if on_repeat:
            on_repeat(out)
    return out


def _check(row: dict[str, Any], epochs: int, before: list[dict[str, Any]]) -> None:
    trained = {row["epochs"], row.get("reported_epochs", epochs)}
    if trained != {epochs}:
        raise RuntimeError(f"run {row['run']} trained {sorted(trained)} epochs, not {epochs}")
    builds = {row["graph_build"], *(b["graph_build"] for b in before)}
    if len(builds) > 1:
        raise RuntimeError(f"the runs trained on different graph builds: {sorted(map(str, builds))}")


def summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Medians per kind (of the kinds measured so far), the ratios and whether they meet
    :data:`TARGET`."""
    med = {f"{k}_seconds": statistics.median(r["seconds"] for r in runs if r["kind"] == k)
           for k in KINDS if any(r["kind"] == k for r in runs)}
    trials = [r for r in runs if r["kind"] == "trial"]
    if trials:
        med["study_call_seconds"] = statistics.median(r["study_call_seconds"] for r in trials)
        med["once_seconds"] = statistics.median(r["once_seconds"] for r in trials)
    out: dict[str, Any] = {**med, "graph_build": runs[0]["graph_build"]}
    for name, base in (("ratio", "train_seconds"), ("trainer_ratio", "trainer_seconds")):
        if "trial_seconds" in med and base in med:
            out[name] = med["trial_seconds"] / med[base]
            out[name.replace("ratio", "met")] = out[name] <= TARGET
    return out
