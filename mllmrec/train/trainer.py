"""The training loop (docs/method.md section 7) for MLLMRec and the baselines.

BPR loss with one uniform negative per training interaction, Adam (lr 1e-3, no weight decay),
batches of 2048, seeded. After every epoch (every ``eval_every`` epochs, and after the last):
full-ranking validation metrics; early stop on validation Recall@20 after ``patience`` epochs
without improvement; the best-validation weights are reloaded and evaluated on validation and
test (test is never used to choose anything).

:func:`fit` is the loop (epochs, early stopping, callbacks), :func:`fit_best` adds the
checkpoint per improvement (:mod:`.checkpoint`) and the final evaluation. The whole run (pull,
fit, record) is :func:`mllmrec.train.job.train_model`.
"""
from __future__ import annotations

import copy
import logging
import time
from collections.abc import Callable

import torch
from torch import nn
from tqdm.auto import tqdm

from mllmrec.config import TrainSettings
from mllmrec.errors import ConfigError
from mllmrec.train.bpr import BPRSampler, bpr_loss
from mllmrec.train.checkpoint import save_checkpoint
from mllmrec.train.data import VALID, TrainData
from mllmrec.train.distributed import SINGLE, Ranks, agree, shard, sum_over_ranks, wrap
from mllmrec.train.metrics import STOP_METRIC, evaluate_model, evaluate_splits
from mllmrec.train.model import Recommender
from mllmrec.train.neighbour_sampling import SampledTraining
from mllmrec.train.record import EpochLog, TrainingJob
from mllmrec.train.registry import model_needs

log = logging.getLogger(__name__)


class RunStopped(Exception):
    """Raised by an ``on_epoch`` callback to end a run on purpose before early stopping (a
    tuning pruner deciding the run cannot win): the run is recorded with status ``pruned``
    (not ``failed``), its epochs so far and the reason, and the exception propagates."""

    def __init__(self, reason: str, epoch: int, best_valid: float) -> None:
        super().__init__(reason)
        self.epoch, self.best_valid = epoch, best_valid


def step_module(model: Recommender, ts: TrainSettings, ranks: Ranks, device: torch.device) -> nn.Module:
    """What a training step calls with a BPR batch: the model itself, or with ``minibatch`` its
    neighbour-sampled version (models whose needs allow it); wrapped in
    DistributedDataParallel when the job has several ranks."""
    module: nn.Module = model
    if ts.minibatch:
        needs = model_needs(ts)
        if not needs.neighbour_sampling:
            raise ConfigError(f"train.minibatch samples the user-item graph of LightGCN, the hybrid or the "
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
    history has no validation metrics). Epochs between validations (``eval_every`` > 1) have
    empty validation metrics and no ``on_epoch`` call."""
    sampler = BPRSampler(data.train, ts.seed, ts.negatives)
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
        validate = ranks.is_main and (epoch % ts.eval_every == 0 or epoch == ts.epochs)
        valid = evaluate_model(model, data, VALID, ks, ts.eval_batch_size) if validate else {}
        rec = EpochLog(epoch, loss, valid, t1 - t0, time.perf_counter() - t1)
        history.append(rec)
        if validate:
            if valid[STOP_METRIC] > best:
                best, best_epoch = valid[STOP_METRIC], epoch
                best_state = copy.deepcopy(model.state_dict())
                if on_improve:
                    on_improve(model, rec)
            bar.set_postfix(loss=f"{rec.loss:.4f}", r20=f"{valid[STOP_METRIC]:.4f}", best=best_epoch)
            if on_epoch:
                on_epoch(rec)
        if agree(validate and epoch - best_epoch >= ts.patience, ranks):
            log.info("early stop at epoch %d (best %d)", epoch, best_epoch)
            break
    return history, best_state, best_epoch


def fit_best(job: TrainingJob, model: Recommender, data: TrainData, ks: list[int],
             on_epoch: Callable[[EpochLog], None] | None = None, progress: bool = True,
             ranks: Ranks = SINGLE, test: bool = True
             ) -> tuple[list[EpochLog], int, dict[str, dict[str, float]]]:
    """The fit step: train with early stopping (a checkpoint per improvement), reload the best
    weights and evaluate them on validation and (``test``) test. Returns history, best epoch,
    metrics per split."""
    history, best_state, best_epoch = fit(
        model, data, job.settings, ks, on_epoch=on_epoch, progress=progress, ranks=ranks,
        on_improve=lambda m, e: save_checkpoint(m, job.folder, data, {**job.meta, "best_epoch": e.epoch}))
    model.load_state_dict(best_state)
    return history, best_epoch, evaluate_splits(model, data, ks, job.settings.eval_batch_size, test=test)
