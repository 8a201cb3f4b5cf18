"""``mllmrec tune``: an Optuna study over ``tune.space``, chosen on validation Recall@20.

- Storage: ``tune.storage`` (any SQLAlchemy URL; several processes on several machines may
  share one study against one Neo4j), by default a SQLite file in
  ``<runs_dir>/<dataset>/studies/<study>/``. Rerunning continues the same study: trials that
  finished (complete or pruned) are never redone, the study runs until ``n_trials`` of them
  exist. A study remembers its dataset and its fixed trial settings; another dataset or other
  settings under the same name are refused.
- Trial (:func:`_objective`): the drawn configuration (:mod:`.space`); the item-item graph of
  its ``knn_k`` / ``knn_jac`` / ``pure``, built once as a side build and reused by every trial
  that names it (:func:`mllmrec.graph.build.ensure_build`; never made active by a trial); a
  training run of the real trainer with ``trial=True`` (test interactions never pulled,
  nothing staged), capped at ``tune.epochs`` with patience ``tune.patience``. Every epoch
  reports its validation Recall@20 to the pruner; a pruned run is recorded as ``pruned``.
  The trial's value is validation Recall@20 at its best epoch.
- After the study (:mod:`.winner`): the winner's test metrics, once.
"""
from __future__ import annotations

import json
import logging
import time
import uuid
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import optuna
from optuna.study import MaxTrialsCallback
from optuna.trial import FrozenTrial, TrialState
from tqdm.auto import tqdm

from mllmrec.config import Settings
from mllmrec.db import Store
from mllmrec.errors import ConfigError, MllmrecError
from mllmrec.graph.build import ensure_build
from mllmrec.provenance import stage_run
from mllmrec.train.job import new_run_id, train_model
from mllmrec.train.metrics import STOP_METRIC
from mllmrec.train.record import EpochLog, RunSummary
from mllmrec.train.registry import model_needs
from mllmrec.train.trainer import RunStopped
from mllmrec.tune import node
from mllmrec.tune.space import check_space, suggest

log = logging.getLogger(__name__)

FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)


def study_name(settings: Settings) -> str:
    """``tune.study_name``, by default the dataset's name."""
    return settings.tune.study_name or settings.dataset


def study_dir(settings: Settings) -> Path:
    """The study's folder: default storage, plots and trial table."""
    return Path(settings.train.runs_dir) / settings.dataset / "studies" / study_name(settings)


def storage_url(settings: Settings, create: bool = True) -> str:
    """``tune.storage``, or the SQLite file in :func:`study_dir` (its folder made unless
    ``create`` is false)."""
    if settings.tune.storage:
        return settings.tune.storage
    folder = study_dir(settings)
    if create:
        folder.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{(folder / 'optuna.db').resolve()}"


def shown_url(url: str) -> str:
    """The URL with any password hidden (for messages and the study node)."""
    try:
        from sqlalchemy.engine import make_url

        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # not even a URL: nothing to hide beyond what the user typed
        return url.split("@")[-1] if "@" in url else url


def open_storage(url: str) -> optuna.storages.BaseStorage:
    """Optuna's RDB storage at ``url`` (with heartbeats, so a killed worker's running trial
    is marked failed by the next one); a URL that cannot be opened is one ConfigError."""
    kwargs: dict[str, Any] = {"connect_args": {"timeout": 60}} if url.startswith("sqlite") else {}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return optuna.storages.RDBStorage(url, engine_kwargs=kwargs, heartbeat_interval=60,
                                              grace_period=180)
    except Exception as exc:
        why = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ConfigError(f"cannot open the study storage {shown_url(url)}: "
                          f"{type(exc).__name__}: {why}") from None


def trial_base(settings: Settings) -> Settings:
    """What every trial starts from: the configuration, with the trial epoch cap and patience."""
    return settings.with_overrides({"train.epochs": settings.tune.epochs,
                                    "train.patience": settings.tune.patience})


def fixed_settings(settings: Settings) -> dict[str, Any]:
    """The result-changing settings every trial shares (the searched ones left out): a study
    must not mix trials trained under different protocols."""
    from mllmrec.ops.stages import BUILD_GRAPH, TRAIN
    from mllmrec.tune.space import ORDER

    base = trial_base(settings)
    searched = {p.key for p in ORDER if p.name in settings.tune.search_space}
    return {k: v for k, v in {**BUILD_GRAPH.params(base), **TRAIN.params(base)}.items()
            if k not in searched}


def _sampler(settings: Settings) -> optuna.samplers.BaseSampler:
    t = settings.tune
    if t.sampler == "grid":
        return optuna.samplers.GridSampler({k: list(v.choices or []) for k, v in t.search_space.items()},
                                           seed=t.seed)
    if t.sampler == "random":
        return optuna.samplers.RandomSampler(seed=t.seed)
    return optuna.samplers.TPESampler(seed=t.seed)


def _pruner(settings: Settings) -> optuna.pruners.BasePruner:
    t = settings.tune
    if t.pruner == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=t.startup_trials,
                                           n_warmup_steps=t.warmup_epochs)
    if t.pruner == "halving":
        return optuna.pruners.SuccessiveHalvingPruner(min_resource=max(1, t.warmup_epochs))
    return optuna.pruners.NopPruner()


def space_json(settings: Settings) -> dict[str, Any]:
    """The search space as plain values (stored in the study and on its node)."""
    return {k: v.model_dump(exclude_defaults=True) for k, v in settings.tune.search_space.items()}


def open_study(settings: Settings, url: str | None = None) -> optuna.Study:
    """Create the dataset's study or load it to continue. Refused in one line: a study of
    another dataset under that name, or one whose search space or fixed trial settings differ
    (its trials would not be comparable: choose another ``--study-name``)."""
    check_space(settings)
    url = url or storage_url(settings)
    name = study_name(settings)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(storage=open_storage(url), study_name=name, direction="maximize",
                                sampler=_sampler(settings), pruner=_pruner(settings),
                                load_if_exists=True)
    wanted = {"dataset": settings.dataset, "space": space_json(settings),
              "trial_settings": fixed_settings(settings)}
    attrs = study.user_attrs
    if "dataset" not in attrs:
        for key, value in {**wanted, "uid": str(uuid.uuid4())}.items():
            study.set_user_attr(key, value)
        return study
    if attrs["dataset"] != settings.dataset:
        raise ConfigError(f"study '{name}' in {shown_url(url)} tunes dataset '{attrs['dataset']}', "
                          f"not '{settings.dataset}'; choose another --study-name")
    if attrs.get("space") != wanted["space"]:
        raise ConfigError(f"study '{name}' was created with another search space "
                          f"({json.dumps(attrs.get('space'), sort_keys=True)}); use the same "
                          "tune.space or another --study-name")
    old: dict[str, Any] = dict(attrs.get("trial_settings") or {})
    new: dict[str, Any] = dict(fixed_settings(settings))
    differ = sorted(k for k in {*old, *new} if old.get(k) != new.get(k))
    if differ:
        was = ", ".join(f"{k}={old.get(k)!r} (now {new.get(k)!r})" for k in differ)
        raise ConfigError(f"study '{name}' trained its trials with {was}; use the same "
                          "settings or another --study-name")
    return study


def load_study(settings: Settings) -> optuna.Study:
    """An existing study of the dataset (for ``--report``, ``--serve`` and
    ``retrain --from-study``); a missing one is a ConfigError, and looking leaves no folder
    or empty storage file behind."""
    url = storage_url(settings, create=False)
    name = study_name(settings)
    missing = ConfigError(f"no study named '{name}' in {shown_url(url)}; run 'mllmrec tune' first")
    if not settings.tune.storage and not (study_dir(settings) / "optuna.db").is_file():
        raise missing
    try:
        study = optuna.load_study(study_name=name, storage=open_storage(url))
    except KeyError:
        raise missing from None
    if study.user_attrs.get("dataset") != settings.dataset:
        raise ConfigError(f"study '{name}' in {shown_url(url)} tunes dataset "
                          f"'{study.user_attrs.get('dataset')}', not '{settings.dataset}'")
    return study


def finished(study: optuna.Study) -> int:
    """Trials that count towards ``n_trials``: complete or pruned."""
    return len(study.get_trials(deepcopy=False, states=FINISHED))


class _Pruned(RunStopped, optuna.TrialPruned):
    """The pruner stopped the trial: the trainer records the run as pruned, Optuna the trial."""


@dataclass
class StudyOutcome:
    """What a ``tune`` run left: the study, its counts, the best trial, the winner's metrics."""

    name: str
    dataset: str
    uid: str
    storage: str
    folder: Path
    n_trials: int
    counts: dict[str, int]
    best: FrozenTrial | None
    seconds: float
    winner_metrics: dict[str, dict[str, float]] = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        """Whether the study has its ``n_trials`` finished trials."""
        return self.counts["complete"] + self.counts["pruned"] >= self.n_trials

    def lines(self) -> list[str]:
        c = self.counts
        out = [f"study '{self.name}' of '{self.dataset}' ({self.storage}): {c['complete']} complete, "
               f"{c['pruned']} pruned, {c['failed']} failed of {self.n_trials} in {self.seconds:.0f}s"]
        if self.best is not None:
            out.append(f"  best trial #{self.best.number}: valid Recall@20 {self.best.value:.4f}, "
                       f"run {self.best.user_attrs.get('run_id')}, "
                       + ", ".join(f"{k}={v}" for k, v in self.best.params.items()))
        if "test" in self.winner_metrics:
            m = self.winner_metrics["test"]
            out.append(f"  winner on test (computed once, after the study): Recall@20 "
                       f"{m['recall@20']:.4f}, NDCG@20 {m['ndcg@20']:.4f}")
        elif self.best is not None and not self.complete:
            out.append("  study not complete: rerun 'mllmrec tune' to continue it (finished "
                       "trials are kept); test metrics come after the last trial")
        return out


def _objective(store: Store, base: Settings, study: optuna.Study, inputs: str,
               on_epoch: Callable[[optuna.Trial, EpochLog], None],
               on_run: Callable[[RunSummary], None] | None) -> Callable[[optuna.Trial], float]:
    uid = str(study.user_attrs["uid"])
    space = base.tune.search_space

    def objective(trial: optuna.Trial) -> float:
        s = suggest(trial, base, space)
        build = None
        if model_needs(s.train).item_graph:
            build, _ = ensure_build(store, s, inputs)
            trial.set_user_attr("graph_build", build)
        run_id = new_run_id()
        trial.set_user_attr("run_id", run_id)
        best = {"value": 0.0, "epoch": 0}

        def report(epoch: EpochLog) -> None:
            value = epoch.valid[STOP_METRIC]
            if value > best["value"]:
                best.update(value=value, epoch=epoch.epoch)
            on_epoch(trial, epoch)
            trial.report(value, epoch.epoch)
            if trial.should_prune():
                raise _Pruned(f"epoch {epoch.epoch}: valid Recall@20 {value:.4f} (best "
                              f"{best['value']:.4f}) cannot win, by the {base.tune.pruner} pruner",
                              epoch.epoch, best["value"])

        try:
            summary = train_model(store, s, serve=False, trial=True, run_id=run_id,
                                  graph_build=build, on_epoch=report, progress=False)
        finally:
            node.link_trial(store, uid, trial.number, run_id)
        assert summary is not None  # one process: rank 0
        trial.set_user_attr("best_epoch", summary.best_epoch)
        trial.set_user_attr("epochs", summary.epochs)
        if on_run:
            on_run(summary)
        return float(summary.metrics["valid"][STOP_METRIC])

    return objective


def run_study(store: Store, settings: Settings, *, progress: bool = True,
              on_trial: Callable[[optuna.Study, FrozenTrial], None] | None = None,
              on_run: Callable[[RunSummary], None] | None = None) -> StudyOutcome:
    """Run (or continue) the dataset's study until it has ``tune.n_trials`` finished trials,
    then compute the winner's test metrics once (:func:`mllmrec.tune.winner.evaluate_winner`).
    ``on_run`` sees each completed trial's run summary (validation metrics only), then
    ``on_trial`` every trial as it ends. Ctrl-C stops after marking the running trial failed;
    rerunning continues."""
    from mllmrec.ops.stages import BUILD_GRAPH
    from mllmrec.tune.winner import evaluate_winner

    t0 = time.perf_counter()
    url = storage_url(settings)
    study = open_study(settings, url)
    uid, name, n = str(study.user_attrs["uid"]), study_name(settings), settings.tune.n_trials
    base = trial_base(settings)
    node.start_study(store, uid, name, settings.dataset, shown_url(url), space_json(settings),
                      settings.tune.sampler, settings.tune.pruner, n, fixed_settings(settings))
    params = {"study": name, "storage": shown_url(url), **settings.tune.model_dump(mode="json")}
    with stage_run(store, settings.dataset, "tune", params) as rec:
        inputs = BUILD_GRAPH.input_fingerprint(store, base)
        bar = tqdm(total=n, initial=min(finished(study), n), desc=f"tune {name}", unit="trial",
                   disable=not progress)

        def show_epoch(trial: optuna.Trial, epoch: EpochLog) -> None:
            bar.set_postfix_str(_postfix(study, f"#{trial.number} epoch {epoch.epoch} "
                                         f"r20 {epoch.valid[STOP_METRIC]:.4f}"), refresh=True)

        def after(study_: optuna.Study, trial: FrozenTrial) -> None:
            node.record_progress(store, uid, study_)
            if trial.state in FINISHED:
                bar.update(1)
            bar.set_postfix_str(_postfix(study_, f"#{trial.number} {trial.state.name.lower()}"))
            if on_trial:
                on_trial(study_, trial)

        try:
            remaining = n - finished(study)
            if remaining > 0:
                study.optimize(_objective(store, base, study, inputs, show_epoch, on_run),
                               n_trials=remaining, catch=(MllmrecError,),
                               callbacks=[MaxTrialsCallback(n, states=FINISHED), after])
        finally:
            bar.close()
        node.record_progress(store, uid, study)
        outcome = StudyOutcome(name, settings.dataset, uid, shown_url(url), study_dir(settings), n,
                               node.counts(study), node.best_trial(study),
                               time.perf_counter() - t0)
        if outcome.complete and outcome.best is not None:
            outcome.winner_metrics = evaluate_winner(store, settings, study, outcome.best)
        rec.counts.update({**outcome.counts, "best_trial": outcome.best.number if outcome.best else None,
                           "best_value": outcome.best.value if outcome.best else None})
    return outcome


def _postfix(study: optuna.Study, now: str) -> str:
    best = node.best_trial(study)
    return now + (f" | best #{best.number} {best.value:.4f}" if best else "")
