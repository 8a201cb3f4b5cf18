"""The training loop (docs/method.md section 7) for MLLMRec and the baselines.

BPR loss with one uniform negative per training interaction, Adam (lr 1e-3, no weight decay),
batches of 2048, seeded. After every epoch: full-ranking validation metrics; early stop on
validation Recall@20 after ``patience`` epochs without improvement; the best-validation weights
are reloaded and evaluated on validation and test (test is never used to choose anything).

:func:`train_model` is the whole run: pull (:func:`~mllmrec.train.registry.load_data`), fit
(:func:`fit_best`, checkpoints in :mod:`.checkpoint`) and record (:func:`.record.record`,
write-back: a failed run never changes what is served). Which model, and what it needs, comes
from :mod:`.registry`; seeds, threads and deterministic kernels from :mod:`.determinism`.
"""
from __future__ import annotations

import copy
import logging
import time
import uuid
from collections.abc import Callable
from typing import Any

import torch
from torch import nn
from tqdm.auto import tqdm

from mllmrec.config import Settings, TrainSettings
from mllmrec.db import Store
from mllmrec.errors import ConfigError
from mllmrec.provenance import stage_run
from mllmrec.train import distributed, writeback
from mllmrec.train.bpr import BPRSampler, bpr_loss
from mllmrec.train.checkpoint import run_dir, save_checkpoint, warm_start
from mllmrec.train.data import TEST, VALID, TrainData
from mllmrec.train.determinism import reproducible, seed_everything
from mllmrec.train.distributed import SINGLE, Ranks, agree, shard, sum_over_ranks, wrap
from mllmrec.train.metrics import STOP_METRIC, evaluate_model
from mllmrec.train.model import Recommender
from mllmrec.train.neighbour_sampling import SampledTraining
from mllmrec.train.placement import resolve_device
from mllmrec.train.record import EpochLog, RunSummary, TrainingJob, record
from mllmrec.train.registry import build_model, load_data, model_needs

log = logging.getLogger(__name__)


def step_module(model: Recommender, ts: TrainSettings, ranks: Ranks, device: torch.device) -> nn.Module:
    """What a training step calls with a BPR batch: the model itself, or with ``minibatch`` its
    neighbour-sampled version (models whose needs allow it); wrapped in
    DistributedDataParallel when the job has several ranks."""
    module: nn.Module = model
    if ts.minibatch:
        needs = model_needs(ts)
        if not needs.neighbour_sampling:
            raise ConfigError(f"train.minibatch samples the user-item graph of LightGCN or the "
                              f"--ui-gcn variant; {needs.name} trains on plain batches: drop --minibatch")
        module = SampledTraining(model, ts.fanout)
    return wrap(module, ranks, device)


def train_epoch(module: nn.Module, sampler: BPRSampler, opt: torch.optim.Optimizer,
                batch_size: int, device: torch.device, ranks: Ranks = SINGLE) -> float:
    """One BPR pass over every training interaction (this rank's share of each global batch);
    returns the mean loss over all ranks. The loss is summed on the device and read once at
    the end (no host sync per batch)."""
    module.train()
    total = torch.zeros((), dtype=torch.float64, device=device)
    for (users, pos, neg), denom in shard(sampler.epoch(batch_size), ranks):
        u, p, q = module(users.to(device), pos.to(device), neg.to(device))
        loss = bpr_loss(u, p, q, denom)
        opt.zero_grad()
        loss.backward()
        opt.step()
        total += loss.detach() * denom
    return float(sum_over_ranks(total, ranks)) / len(sampler)


def fit(model: Recommender, data: TrainData, ts: TrainSettings, ks: list[int],
        on_epoch: Callable[[EpochLog], None] | None = None,
        on_improve: Callable[[Recommender, EpochLog], object] | None = None,
        progress: bool = True, ranks: Ranks = SINGLE
        ) -> tuple[list[EpochLog], dict[str, torch.Tensor], int]:
    """Train with early stopping; returns the history, the best state and its epoch. With
    several ranks, rank 0 evaluates and decides when to stop (the others train only: their
    history has no validation metrics)."""
    sampler = BPRSampler(data.train, ts.seed)
    device = next(model.parameters()).device
    module = step_module(model, ts, ranks, device)
    opt = torch.optim.Adam(module.parameters(), lr=ts.lr)
    history: list[EpochLog] = []
    best, best_epoch, best_state = -1.0, 0, copy.deepcopy(model.state_dict())
    bar = tqdm(range(1, ts.epochs + 1), desc=f"train {ts.model}", unit="epoch",
               disable=not progress or not ranks.is_main)
    for epoch in bar:
        t0 = time.perf_counter()
        loss = train_epoch(module, sampler, opt, ts.batch_size, device, ranks)
        t1 = time.perf_counter()
        valid = evaluate_model(model, data, VALID, ks, ts.eval_batch_size) if ranks.is_main else {}
        rec = EpochLog(epoch, loss, valid, t1 - t0, time.perf_counter() - t1)
        history.append(rec)
        if ranks.is_main:
            if valid[STOP_METRIC] > best:
                best, best_epoch = valid[STOP_METRIC], epoch
                best_state = copy.deepcopy(model.state_dict())
                if on_improve:
                    on_improve(model, rec)
            bar.set_postfix(loss=f"{rec.loss:.4f}", r20=f"{valid[STOP_METRIC]:.4f}", best=best_epoch)
            if on_epoch:
                on_epoch(rec)
        if agree(epoch - best_epoch >= ts.patience, ranks):
            log.info("early stop at epoch %d (best %d)", epoch, best_epoch)
            break
    return history, best_state, best_epoch


def fit_best(job: TrainingJob, model: Recommender, data: TrainData, ks: list[int],
             on_epoch: Callable[[EpochLog], None] | None = None, progress: bool = True,
             ranks: Ranks = SINGLE) -> tuple[list[EpochLog], int, dict[str, dict[str, float]]]:
    """The fit step: train with early stopping (a checkpoint per improvement), reload the best
    weights and evaluate them on validation and test. Returns history, best epoch, metrics."""
    history, best_state, best_epoch = fit(
        model, data, job.settings, ks, on_epoch=on_epoch, progress=progress, ranks=ranks,
        on_improve=lambda m, e: save_checkpoint(m, job.folder, data, {**job.meta, "best_epoch": e.epoch}))
    model.load_state_dict(best_state)
    metrics = {name: evaluate_model(model, data, split, ks, job.settings.eval_batch_size)
               for name, split in (("valid", VALID), ("test", TEST))}
    return history, best_epoch, metrics


def train_model(store: Store, settings: Settings, *, init_run: str | None = None,
                serve: bool = True, on_epoch: Callable[[EpochLog], None] | None = None,
                progress: bool = True) -> RunSummary | None:
    """Train the configured model on ``settings.dataset``, evaluate it, write the run back:
    the pull (:func:`~mllmrec.train.registry.load_data`), fit (:func:`fit_best`) and record
    (:func:`~mllmrec.train.record.record`) steps, with the seeds, threads and kernels of
    :func:`~mllmrec.train.determinism.reproducible`.

    ``init_run`` warm-starts from that run's checkpoint (same dataset folder); ``serve=False``
    stages the vectors without switching ``Dataset.serving_run`` (promote later with
    :func:`mllmrec.train.writeback.promote_run`); ``on_epoch`` sees every epoch's log (it may
    raise to abort the run: the run is then recorded as failed and nothing served changes).
    Under torchrun with several ranks (:mod:`.distributed`), rank 0 does all of that; the
    other ranks only read from Neo4j, train their share of every batch and return None.
    """
    ts, dataset = settings.train, settings.dataset
    ks = sorted(set(ts.topks) | {20})
    device, why = resolve_device(ts.device, model_needs(ts))
    ranks, device = distributed.init(device)
    log.info("training %s on %s (%s)%s", ts.model, device, why,
             f", rank {ranks.rank} of {ranks.world}" if ranks.distributed else "")
    params = {**ts.model_dump(mode="json"), "init_run": init_run, "serve": serve, "nproc": ranks.world}
    with reproducible(ts):
        if ranks.is_main:
            summary = _train_main(store, settings, device, params, ks, init_run, serve,
                                  on_epoch, progress, ranks)
        else:
            seed_everything(ts.seed)
            data = load_data(store, dataset, ts)
            fit(build_model(data, ts, device), data, ts, ks, progress=False, ranks=ranks)
            summary = None
    distributed.shutdown()  # after an error the process exit releases the group
    return summary


def _train_main(store: Store, settings: Settings, device: torch.device, params: dict[str, Any],
                ks: list[int], init_run: str | None, serve: bool,
                on_epoch: Callable[[EpochLog], None] | None, progress: bool, ranks: Ranks) -> RunSummary:
    """Rank 0 (or the only process): provenance, the three steps, the run node's outcome."""
    ts, dataset = settings.train, settings.dataset
    with stage_run(store, dataset, "train", params) as rec:
        run_id = f"{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}"
        rec.counts["run"] = run_id
        job = TrainingJob(run_id, dataset, ts, params, device, run_dir(ts, dataset, run_id))
        seed_everything(ts.seed)
        data = load_data(store, dataset, ts)
        job.lap("load")
        model = build_model(data, ts, device)
        scope = writeback.start_run(store, run_id, dataset, ts.model, params, str(device),
                                    data.graph_build)
        if scope != "train":
            log.warning("run %s trains on LEAKY user texts (history scope '%s': validation and "
                        "test items in them); its metrics are for comparison only", run_id, scope)
        try:
            if init_run:
                warm_start(model, run_dir(ts, dataset, init_run), data, ts.model)
            history, best_epoch, metrics = fit_best(job, model, data, ks, on_epoch, progress, ranks)
            job.lap("fit")
            summary = record(store, job, model, data, history, best_epoch, metrics, serve)
            summary.user_text_scope = scope
        except BaseException as exc:
            writeback.finish_run(store, run_id, "failed", {"error": f"{type(exc).__name__}: {exc}"[:2000]})
            raise
        rec.counts.update({**data.counts, "epochs": len(history), "best_epoch": best_epoch,
                           "test_recall_20": metrics["test"]["recall@20"]})
    return summary
