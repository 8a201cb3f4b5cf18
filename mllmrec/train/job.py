"""A training job from start to finish: pull (:func:`~mllmrec.train.registry.load_data`), fit
(:func:`~mllmrec.train.trainer.fit_best`, the loop) and record (:func:`.record.record`,
write-back: a failed run never changes what is served), under the seeds, threads and kernels
of :func:`~mllmrec.train.determinism.reproducible`, on one process or as rank 0 of several.
"""
from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from contextlib import nullcontext
from typing import Any

import torch

from mllmrec.config import Settings
from mllmrec.db import Store
from mllmrec.provenance import StageRecord, stage_run
from mllmrec.train import distributed, writeback
from mllmrec.train.checkpoint import run_dir, warm_start
from mllmrec.train.determinism import reproducible, seed_everything
from mllmrec.train.distributed import Ranks
from mllmrec.train.placement import resolve_device
from mllmrec.train.record import EpochLog, RunSummary, TrainingJob, record
from mllmrec.train.registry import build_model, load_data, model_needs
from mllmrec.train.trainer import RunStopped, fit, fit_best

log = logging.getLogger(__name__)


def train_model(store: Store, settings: Settings, *, init_run: str | None = None,
                serve: bool = True, on_epoch: Callable[[EpochLog], None] | None = None,
                progress: bool = True, graph_build: str | None = None,
                trial: bool = False, run_id: str | None = None) -> RunSummary | None:
    """Train the configured model on ``settings.dataset``, evaluate it, write the run back:
    the pull (:func:`~mllmrec.train.registry.load_data`), fit (:func:`fit_best`) and record
    (:func:`~mllmrec.train.record.record`) steps, with the seeds, threads and kernels of
    :func:`~mllmrec.train.determinism.reproducible`.

    ``init_run`` warm-starts from that run's checkpoint (same dataset folder); ``serve=False``
    stages the vectors without switching ``Dataset.serving_run`` (promote later with
    :func:`mllmrec.train.writeback.promote_run`); ``on_epoch`` sees every epoch's log (it may
    raise to abort the run: the run is then recorded as failed, or as pruned for
    :class:`RunStopped`, and nothing served changes).

    ``graph_build`` trains on that graph build's item-item graph instead of the active one.
    ``trial=True`` is a tuning trial (:mod:`mllmrec.tune`): the test interactions are never
    pulled and no test metric is computed, no vectors are staged (``serve`` must be False), and
    no ``train`` StageRun is recorded (the study records itself; a trial must not look like the
    pipeline's training to its skip rule); ``run_id`` names the run (default: time + random).
    Under torchrun with several ranks (:mod:`.distributed`), rank 0 does all of that; the
    other ranks only read from Neo4j, train their share of every batch and return None.
    """
    ts, dataset = settings.train, settings.dataset
    if trial and serve:
        raise ValueError("a tuning trial never serves: pass serve=False")
    ks = sorted(set(ts.topks) | {20})
    device, why = resolve_device(ts.device, model_needs(ts))
    ranks, device = distributed.init(device)
    log.info("training %s on %s (%s)%s", ts.model, device, why,
             f", rank {ranks.rank} of {ranks.world}" if ranks.distributed else "")
    params = {**ts.model_dump(mode="json"), "init_run": init_run, "serve": serve, "nproc": ranks.world,
              **({"trial": True} if trial else {})}
    with reproducible(ts):
        if ranks.is_main:
            summary = _train_main(store, settings, device, params, ks, init_run, serve,
                                  on_epoch, progress, ranks, graph_build, trial, run_id)
        else:
            seed_everything(ts.seed)
            data = load_data(store, dataset, ts, graph_build, test=not trial)
            fit(build_model(data, ts, device), data, ts, ks, progress=False, ranks=ranks)
            summary = None
    distributed.shutdown()  # after an error the process exit releases the group
    return summary


def new_run_id() -> str:
    """A fresh training run id: start time plus a random suffix."""
    return f"{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}"


def _train_main(store: Store, settings: Settings, device: torch.device, params: dict[str, Any],
                ks: list[int], init_run: str | None, serve: bool,
                on_epoch: Callable[[EpochLog], None] | None, progress: bool, ranks: Ranks,
                graph_build: str | None, trial: bool, run_id: str | None) -> RunSummary:
    """Rank 0 (or the only process): provenance, the three steps, the run node's outcome."""
    ts, dataset = settings.train, settings.dataset
    run_id = run_id or new_run_id()
    with nullcontext(StageRecord(run_id)) if trial else stage_run(store, dataset, "train", params) as rec:
        rec.counts["run"] = run_id
        job = TrainingJob(run_id, dataset, ts, params, device, run_dir(ts, dataset, run_id))
        seed_everything(ts.seed)
        data = load_data(store, dataset, ts, graph_build, test=not trial)
        job.lap("load")
        model = build_model(data, ts, device)
        labels = writeback.start_run(store, run_id, dataset, ts.model, params, str(device),
                                     data.graph_build)
        if labels.user_text_scope != "train":
            log.warning("run %s trains on LEAKY user texts (history scope '%s': validation and "
                        "test items in them); its metrics are for comparison only", run_id,
                        labels.user_text_scope)
        if labels.cold:
            log.warning("run %s trains on a COLD-START split (%s): held-out items and users have "
                        "no training interaction; metrics are reported per group (warm, cold)",
                        run_id, labels.cold)
        try:
            if init_run:
                warm_start(model, run_dir(ts, dataset, init_run), data, ts.model)
            history, best_epoch, metrics = fit_best(job, model, data, ks, on_epoch, progress, ranks,
                                                    test=not trial)
            job.lap("fit")
            summary = record(store, job, model, data, history, best_epoch, metrics, serve,
                             stage=not trial)
            summary.user_text_scope, summary.cold = labels.user_text_scope, labels.cold
        except RunStopped as exc:
            writeback.finish_run(store, run_id, "pruned", {
                "error": f"pruned: {exc}"[:2000], "epochs": exc.epoch,
                "valid_recall_20": exc.best_valid,
                "checkpoint": str(job.folder / "model.safetensors")})
            raise
        except BaseException as exc:
            writeback.finish_run(store, run_id, "failed", {"error": f"{type(exc).__name__}: {exc}"[:2000]})
            raise
        rec.counts.update({**data.counts, "epochs": len(history), "best_epoch": best_epoch,
                           **{f"{split}_recall_20": m["recall@20"] for split, m in metrics.items()}})
    return summary
