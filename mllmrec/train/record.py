"""What a training run leaves behind, and reading it back.

- :class:`TrainingJob`: a run while it is being made (rank 0): identity, settings, folder,
  clock; :class:`EpochLog` per epoch; :class:`RunSummary` what it produced.
- :func:`record`: the final ``run.json`` and training curve in the run folder, the vectors
  staged in Neo4j (served when asked) and the (:TrainingRun) node finished as ``ok``, through
  :mod:`.writeback` (a failed run never changes what is served).
- :func:`evaluate_stored`: the serving run's metrics from the vectors stored in Neo4j.
"""
from __future__ import annotations

import json
import resource
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from mllmrec.config import TrainSettings
from mllmrec.db import Store
from mllmrec.train import writeback
from mllmrec.train.checkpoint import write_run_meta
from mllmrec.train.data import TrainData, load_train_data
from mllmrec.train.metrics import STOP_METRIC, dot_scorer, split_metrics
from mllmrec.train.model import Recommender
from mllmrec.train.plots import plot_curves


@dataclass
class EpochLog:
    epoch: int
    loss: float
    valid: dict[str, float]
    train_seconds: float
    eval_seconds: float


@dataclass
class RunSummary:
    """What a training run produced."""

    run_id: str
    dataset: str
    model: str
    best_epoch: int
    epochs: int
    metrics: dict[str, dict[str, float]]
    device: str
    seconds: float
    seconds_per_epoch: float
    eval_seconds_per_epoch: float
    peak_memory_mb: float
    run_dir: str
    served: bool
    graph_build: str | None
    history: list[EpochLog] = field(default_factory=list)
    user_text_scope: str = "train"  # 'all': trained on leaky user texts (comparison only)
    cold: str | None = None  # the cold-start protocol of the split, e.g. "cold items 0.2, ..."

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class TrainingJob:
    """One training run while it is being made (rank 0): identity, settings, folder, clock."""

    id: str
    dataset: str
    settings: TrainSettings
    params: dict[str, Any]
    device: torch.device
    folder: Path
    started: float = field(default_factory=time.perf_counter)
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def meta(self) -> dict[str, Any]:
        return {"run_id": self.id, "dataset": self.dataset, "model": self.settings.model,
                "settings": self.params}

    def lap(self, name: str) -> None:
        """Record the time since the start under ``name``."""
        self.timings[name] = time.perf_counter() - self.started


def record(store: Store, job: TrainingJob, model: Recommender, data: TrainData, history: list[EpochLog],
           best_epoch: int, metrics: dict[str, dict[str, float]], serve: bool,
           stage: bool = True) -> RunSummary:
    """The record step: final checkpoint and curve in the run folder, the vectors staged in
    Neo4j (when ``stage``; served when ``serve``), the (:TrainingRun) node finished as ``ok``.
    A tuning trial does not stage: staging slots are per node and the next run overwrites
    them; the study's winner is staged from its checkpoint (:mod:`mllmrec.tune.winner`)."""
    # The best weights were saved when they were reached: only the metadata changes.
    checkpoint = job.folder / "model.safetensors"
    write_run_meta(job.folder, {**job.meta, "best_epoch": best_epoch, "metrics": metrics})
    plot = plot_curves([h.epoch for h in history], [h.loss for h in history],
                       [h.valid.get(STOP_METRIC, float("nan")) for h in history], best_epoch,
                       job.folder / "curve.png", f"{job.dataset} {job.settings.model} {job.id}")
    if stage or serve:
        stage_model(store, job.dataset, job.id, model, data)
    if serve:
        writeback.promote_run(store, job.dataset, job.id, data.n_users, data.n_items)
    job.lap("total")
    timings = {"load": job.timings["load"], "fit": job.timings["fit"] - job.timings["load"],
               "epochs": sum(h.train_seconds for h in history),
               "validation": sum(h.eval_seconds for h in history),
               "writeback": job.timings["total"] - job.timings["fit"], "total": job.timings["total"]}
    summary = RunSummary(
        run_id=job.id, dataset=job.dataset, model=job.settings.model, best_epoch=best_epoch,
        epochs=len(history), metrics=metrics, device=str(job.device), seconds=timings["total"],
        seconds_per_epoch=float(np.mean([h.train_seconds for h in history])),
        eval_seconds_per_epoch=float(np.mean([h.eval_seconds for h in history if h.valid] or [0.0])),
        peak_memory_mb=_peak_memory_mb(job.device), run_dir=str(job.folder), served=serve,
        graph_build=data.graph_build, history=history)
    writeback.finish_run(store, job.id, "ok", writeback.run_properties(metrics, {
        "best_epoch": best_epoch, "epochs": len(history), "timings": json.dumps(timings),
        "seconds_per_epoch": summary.seconds_per_epoch,
        "peak_memory_mb": summary.peak_memory_mb, "checkpoint": str(checkpoint),
        "plot": str(plot), "n_users": data.n_users, "n_items": data.n_items}))
    return summary


def stage_model(store: Store, dataset: str, run_id: str, model: Recommender, data: TrainData) -> None:
    """Stage the model's user and item vectors in Neo4j as run ``run_id`` (nothing served
    changes until :func:`~mllmrec.train.writeback.promote_run`)."""
    with torch.no_grad():
        users, items = (t.detach().cpu().numpy() for t in model.all_repr())
    writeback.ensure_indexes(store, users.shape[1])
    writeback.stage_vectors(store, dataset, run_id, data.user_ids, users, data.item_ids, items)


def _peak_memory_mb(device: torch.device) -> float:
    """Peak resident memory of this process (CPU) or peak allocated CUDA memory."""
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def evaluate_stored(store: Store, dataset: str, ks: list[int], batch_size: int = 1024
                    ) -> tuple[str, dict[str, dict[str, float]]]:
    """Metrics of the serving run computed from the vectors stored in Neo4j (what
    recommendations use), per split (and cold-start group). Returns the run id and
    ``{"valid": ..., "test": ...}`` (:func:`~mllmrec.train.metrics.split_metrics`)."""
    run = writeback.serving_run(store, dataset)["run"]
    data = load_train_data(store, dataset, features=False, item_graph=False)
    users, items = writeback.stored_vectors(store, dataset, run, data.user_ids, data.item_ids)
    u, i = torch.from_numpy(users), torch.from_numpy(items)
    return run, split_metrics(dot_scorer(u, i), u.device, data, ks, batch_size)
