"""After a study: the winner's metrics on test (computed once, for the winner only) and the
serving decision, which reads validation only.

The winner is reloaded from its run folder (the checkpoint the trainer saved at its best
validation epoch) on the graph build it trained on; nothing is retrained.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import optuna
import torch
from optuna.trial import FrozenTrial

from mllmrec.config import Settings
from mllmrec.db import Store
from mllmrec.errors import StageError
from mllmrec.ops.status import valid_recall20
from mllmrec.train.checkpoint import restore_checkpoint, run_dir
from mllmrec.train.data import TEST, VALID, TrainData
from mllmrec.train.metrics import STOP_METRIC, evaluate_model
from mllmrec.train.model import Recommender
from mllmrec.train.placement import resolve_device
from mllmrec.train.registry import build_model, load_data, model_needs
from mllmrec.tune import node
from mllmrec.tune.space import with_params

log = logging.getLogger(__name__)


def load_trial_model(store: Store, settings: Settings, trial: FrozenTrial
                     ) -> tuple[Settings, TrainData, Recommender]:
    """A finished trial's settings, the dataset as its model needs it (test split included,
    the graph build the trial trained on) and the model with its best weights."""
    from mllmrec.tune.study import trial_base

    s = with_params(trial_base(settings), trial.params)
    run_id = str(trial.user_attrs["run_id"])
    data = load_data(store, s.dataset, s.train, trial.user_attrs.get("graph_build"))
    device, _ = resolve_device(s.train.device, model_needs(s.train))
    model = build_model(data, s.train, device)
    restore_checkpoint(model, run_dir(s.train, s.dataset, run_id), data)
    model.eval()
    return s, data, model


def evaluate_winner(store: Store, settings: Settings, study: optuna.Study,
                    best: FrozenTrial) -> dict[str, dict[str, float]]:
    """Validation and test metrics of the study's winner, recorded on the study node and the
    winner's run; computed only when the node does not hold them for this winner yet (a
    rerun of a finished study reads test nothing more)."""
    import json

    uid = str(study.user_attrs["uid"])
    run_id = str(best.user_attrs["run_id"])
    recorded = node.study_node(store, uid)
    if recorded.get("winner_run") == run_id and recorded.get("winner_metrics"):
        return dict(json.loads(recorded["winner_metrics"]))
    s, data, model = load_trial_model(store, settings, best)
    ks = sorted(set(s.train.topks) | {20})
    with torch.no_grad():
        metrics = {name: evaluate_model(model, data, split, ks, s.train.eval_batch_size)
                   for name, split in (("valid", VALID), ("test", TEST))}
    if abs(metrics["valid"][STOP_METRIC] - float(best.value or 0.0)) > 1e-5:
        log.warning("winner run %s: valid Recall@20 %.6f from its checkpoint, %.6f when it was "
                    "trained (did the dataset change?)", run_id, metrics["valid"][STOP_METRIC],
                    best.value)
    node.record_winner(store, uid, run_id, best.number, metrics)
    return metrics


@dataclass
class ServeDecision:
    """Whether the study's winner now serves, and why (validation Recall@20 only)."""

    served: bool
    reason: str
    winner: float
    serving: float | None
    serving_run: str | None


def decide(winner: float, serving: float | None, min_gain: float) -> tuple[bool, str]:
    """Serve the winner when there is no serving run, or when its validation Recall@20 beats
    the serving run's by more than zero and by at least ``min_gain``. Test is never read."""
    if serving is None:
        return True, "no serving run with a validation Recall@20 to beat"
    gain = winner - serving
    if gain > 0 and gain >= min_gain:
        return True, f"valid Recall@20 {winner:.4f} beats the serving run's {serving:.4f} by {gain:+.4f}"
    return False, (f"valid Recall@20 {winner:.4f} vs the serving run's {serving:.4f} ({gain:+.4f}): "
                   f"not better by at least train.min_gain {min_gain}")


def serve_winner(store: Store, settings: Settings, study: optuna.Study) -> ServeDecision:
    """Promote the study's winner if :func:`decide` says so, under the dataset's lock: its
    graph build becomes the active one, its vectors (from its checkpoint) are staged and
    promoted in one transaction. Otherwise serving is left as it was."""
    from mllmrec.graph.build import activate_build
    from mllmrec.ops.lock import dataset_lock
    from mllmrec.train.record import stage_model
    from mllmrec.train.writeback import promote_run, serving_run

    best = node.best_trial(study)
    if best is None or best.value is None:
        raise StageError(f"study '{study.study_name}' has no complete trial to serve")
    run_id = str(best.user_attrs["run_id"])
    with dataset_lock(store, settings.dataset, purpose="tune --serve"):
        current = serving_run(store, settings.dataset, required=False)
        serving = valid_recall20(current["props"]) if current["run"] else None
        if current["run"] == run_id:
            return ServeDecision(False, f"the winner {run_id} already serves", best.value, serving,
                                 current["run"])
        ok, reason = decide(best.value, serving, settings.train.min_gain)
        if not ok:
            return ServeDecision(False, reason, best.value, serving, current["run"])
        s, data, model = load_trial_model(store, settings, best)
        build = best.user_attrs.get("graph_build")
        if build:
            activate_build(store, s.dataset, str(build))
        stage_model(store, s.dataset, run_id, model, data)
        promote_run(store, s.dataset, run_id, data.n_users, data.n_items)
    return ServeDecision(True, reason, best.value, serving, run_id)


def best_overrides(settings: Settings) -> dict[str, Any]:
    """The dotted settings of the study's best trial (``retrain --from-study``)."""
    from mllmrec.tune.space import overrides
    from mllmrec.tune.study import load_study

    study = load_study(settings)
    best = node.best_trial(study)
    if best is None:
        raise StageError(f"study '{study.study_name}' has no complete trial yet")
    return overrides(best.params)
