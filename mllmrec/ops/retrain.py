"""``mllmrec retrain``: the incremental cycle after new data was ingested.

Under the dataset's lock (:mod:`mllmrec.ops.lock`), run describe, profile, embed, refresh,
build-graph and train through the pipeline. ``refresh`` (:mod:`mllmrec.ops.refresh`, the code
``mllmrec refresh`` runs) serves the new items and users from their text vectors with the
serving run's weights as soon as they are encoded, so they are recommended while the graph is
rebuilt and the model trained; with no serving run, or one that cannot embed them, it notes
why and the cycle goes on. The stages are incremental themselves (describe only items
without an up-to-date text, profile only users whose training-history hash changed, embed only
texts whose hash changed); the pipeline skips any stage whose inputs did not change at all, so
a cycle with no new data does nothing.

Training warm-starts from the serving run when that is sound (``train.warm_start`` on, same
model and dimension, its checkpoint still on disk): MLLMRec's weights are MLPs over text
embeddings, so they carry over to new users and items unchanged; the trainer copies ID
embeddings of the baselines row by row for the ids both runs know.

Serving: the new run is trained with ``serve=False`` (its vectors are staged beside the served
ones), then promoted in one transaction only if it finished and, with
``train.max_recall_drop`` set, only if its validation Recall@20 is not more than that margin
below the previous serving run's. A crash anywhere leaves the last good run serving; runs not
promoted stay as history.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from mllmrec.config import Settings
from mllmrec.db import Store
from mllmrec.errors import StageError
from mllmrec.ops.lock import DEFAULT_TTL, dataset_lock
from mllmrec.ops.pipeline import RAN, PipelineReport, StepResult, run_pipeline
from mllmrec.ops.stages import RETRAIN_STAGES
from mllmrec.ops.status import decode, valid_recall20
from mllmrec.train.writeback import serving_run


@dataclass
class RetrainReport:
    dataset: str
    pipeline: PipelineReport
    previous_run: str | None
    new_run: str | None
    serving_run: str | None
    decision: str
    recall: dict[str, float | None] = field(default_factory=dict)
    start: str = ""

    def lines(self) -> list[str]:
        out = [f"retrain of '{self.dataset}': {self.decision}"]
        if self.new_run:
            out.append(f"  {self.start}")
        if self.recall:
            out.append("  valid Recall@20: " + ", ".join(
                f"{k} {v:.4f}" if v is not None else f"{k} n/a" for k, v in self.recall.items()))
        out.append(f"  serving run: {self.serving_run or 'none'}"
                   + (f" (previous {self.previous_run})" if self.previous_run != self.serving_run else ""))
        return out


def warm_start_run(settings: Settings, prev_id: str | None,
                   prev_props: dict[str, Any] | None) -> tuple[str | None, str]:
    """The run to warm-start from (or None) and why."""
    ts = settings.train
    if not ts.warm_start:
        return None, "cold start (train.warm_start is off)"
    if prev_id is None or not prev_props:
        return None, "cold start (no serving run yet)"
    params = decode(prev_props.get("params")) or {}
    if prev_props.get("model") != ts.model or params.get("dim") != ts.dim:
        return None, f"cold start (serving run {prev_id} is a different model or dimension)"
    from mllmrec.train.checkpoint import run_dir  # the folder the trainer warm-starts from

    if not (run_dir(ts, settings.dataset, prev_id) / "model.safetensors").is_file():
        return None, f"cold start (checkpoint of {prev_id} not in {ts.runs_dir})"
    return prev_id, f"warm start from {prev_id}"


def retrain(store: Store, settings: Settings, *, wait: float = 0.0, ttl: float = DEFAULT_TTL,
            owner: str | None = None, force: Sequence[str] = (),
            on_step: Callable[[StepResult], None] | None = None,
            progress: bool = True) -> RetrainReport:
    """One incremental cycle under the dataset's lock; see the module docstring."""
    dataset = settings.dataset
    serving_run(store, dataset, required=False)  # fails clearly before locking a missing dataset
    with dataset_lock(store, dataset, wait=wait, ttl=ttl, owner=owner, purpose="retrain") as lock:
        serving = serving_run(store, dataset, required=False)
        prev_id, prev_props = serving["run"], serving["props"]
        init, start_note = warm_start_run(settings, prev_id, prev_props)
        report = run_pipeline(store, settings, stages=RETRAIN_STAGES, force=force, on_step=on_step,
                              progress=progress,
                              stage_kwargs={"refresh": {"required": False},
                                            "train": {"serve": False, "init_run": init}})
        if lock.lost.is_set():
            raise StageError(f"the lock on '{dataset}' expired during the retrain and was "
                             "taken by another process; the new run was not served")
        result = _decide(store, settings, report, prev_id, prev_props)
        result.start = start_note
        return result


def _decide(store: Store, settings: Settings, report: PipelineReport, prev_id: str | None,
            prev_props: dict[str, Any] | None) -> RetrainReport:
    """Promote the newly trained run, or keep the previous one serving."""
    from mllmrec.train.writeback import promote_run

    dataset = settings.dataset
    train = report.step("train")
    if train is None or train.status != RAN:
        why = train.note if train else "no train stage"
        return RetrainReport(dataset, report, prev_id, None, prev_id, f"no new model ({why})")
    new_id = train.summary["run_id"]
    new_props = store.run("ops/training_run", dataset=dataset, run=new_id)[0]["props"]
    recall = {"previous": valid_recall20(prev_props), "new": valid_recall20(new_props)}
    margin = settings.train.max_recall_drop
    if (margin is not None and None not in recall.values()
            and recall["new"] < recall["previous"] - margin):  # type: ignore[operator]
        return RetrainReport(dataset, report, prev_id, new_id, prev_id,
                             f"new run {new_id} kept as history, not served: valid Recall@20 "
                             f"dropped by more than {margin}", recall)
    promote_run(store, dataset, new_id, int(new_props["n_users"]), int(new_props["n_items"]))
    return RetrainReport(dataset, report, prev_id, new_id, new_id, f"new run {new_id} serves", recall)
