"""The study in Neo4j: one ``(:TuningStudy)-[:TUNED_ON]->(:Dataset)`` per Optuna study, and
``(:TuningStudy)-[:TRIAL {number}]->(:TrainingRun)`` per trial (queries in ``cypher/tune/``).
Optuna's storage stays the source of truth for the search; the node is what ``status`` and
Cypher users see: space, sampler, pruner, trial counts, the best trial and the winner's
validation and test metrics."""
from __future__ import annotations

import json
from typing import Any

import optuna
from optuna.trial import TrialState

from mllmrec.db import Store
from mllmrec.train.writeback import run_properties

METRIC = "valid recall@20"


def start_study(store: Store, uid: str, name: str, dataset: str, storage: str,
                space: dict[str, Any], sampler: str, pruner: str, n_trials: int,
                trial_settings: dict[str, Any]) -> None:
    """Create the study's node (or find it again when resuming) and record how it searches."""
    store.run("tune/study_start", id=uid, study_name=name, dataset=dataset, storage=storage,
              space=json.dumps(space, sort_keys=True), sampler=sampler, pruner=pruner,
              n_trials=n_trials, metric=METRIC,
              trial_settings=json.dumps(trial_settings, sort_keys=True, default=str))


def link_trial(store: Store, uid: str, number: int, run_id: str) -> None:
    """Link trial ``number``'s training run to the study (a run never started: no link)."""
    store.run("tune/link_trial", study=uid, run=run_id, number=number)


def counts(study: optuna.Study) -> dict[str, int]:
    """Trials per state: ``complete``, ``pruned``, ``failed``, ``running`` (and ``trials``)."""
    trials = study.get_trials(deepcopy=False)
    by = {state: sum(t.state == state for t in trials) for state in TrialState}
    return {"trials": len(trials), "complete": by[TrialState.COMPLETE],
            "pruned": by[TrialState.PRUNED], "failed": by[TrialState.FAIL],
            "running": by[TrialState.RUNNING] + by[TrialState.WAITING]}


def best_trial(study: optuna.Study) -> optuna.trial.FrozenTrial | None:
    """The complete trial with the highest value (None before any trial completed)."""
    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    return max(complete, key=lambda t: (t.value, -t.number)) if complete else None


def record_progress(store: Store, uid: str, study: optuna.Study) -> None:
    """Trial counts and the best trial so far on the study's node."""
    props: dict[str, Any] = dict(counts(study))
    best = best_trial(study)
    if best is not None:
        props.update({"best_trial": best.number, "best_value": best.value,
                      "best_params": json.dumps(best.params, sort_keys=True),
                      "best_run": best.user_attrs.get("run_id")})
    store.run("tune/study_progress", id=uid, props=props)


def record_winner(store: Store, uid: str, run_id: str, number: int,
                  metrics: dict[str, dict[str, float]]) -> None:
    """The winner's validation and test metrics on the study (``winner_*``) and its run."""
    study_props = {f"winner_{k}": v for k, v in run_properties(metrics, {}).items()}
    study_props.update({"winner_run": run_id, "winner_trial": number})
    store.run("tune/winner_metrics", id=uid, run=run_id, study_props=study_props,
              run_props=run_properties(metrics, {}))


def study_node(store: Store, uid: str) -> dict[str, Any]:
    """The study node's properties (empty when it does not exist)."""
    rows = store.run("tune/study", id=uid)
    return dict(rows[0]["props"]) if rows else {}

