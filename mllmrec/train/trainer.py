"""The training protocol (METHOD.md section 7) for MLLMRec and the baselines.

BPR loss with one uniform negative per training interaction, Adam (lr 1e-3, no weight decay),
batches of 2048, seeded. After every epoch: full-ranking validation metrics; early stop on
validation Recall@20 after ``patience`` epochs without improvement; the best-validation weights
are reloaded and evaluated on validation and test (test is never used to choose anything).
The run is then written back (:mod:`.writeback`): a failed run never changes what is served.
"""
from __future__ import annotations

import copy
import json
import logging
import random
import resource
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import dgl
import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file
from torch import nn
from tqdm.auto import tqdm

from mllmrec.config import Settings, TrainSettings
from mllmrec.db import Graph
from mllmrec.errors import ConfigError, StageError
from mllmrec.provenance import stage_run
from mllmrec.train import distributed, writeback
from mllmrec.train.baselines import BPRMF, LightGCN
from mllmrec.train.data import TEST, VALID, TrainData, load_train_data
from mllmrec.train.distributed import SINGLE, Ranks, agree, shard, sum_over_ranks, wrap
from mllmrec.train.metrics import evaluate
from mllmrec.train.model import MLLMRec, Recommender
from mllmrec.train.placement import (
    check_device,
    needs_graph_on_device,
    place,
    resolve_device,
)
from mllmrec.train.plots import plot_curves
from mllmrec.train.sampler import BPRSampler
from mllmrec.train.sampling import SampledTraining

log = logging.getLogger(__name__)

STOP_METRIC = "recall@20"


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

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@contextmanager
def cpu_threads(n: int | None) -> Iterator[None]:
    """Use ``n`` threads in torch and DGL kernels inside the block (None = unchanged)."""
    if n is None:
        yield
        return
    before = (torch.get_num_threads(), dgl.utils.get_num_threads())
    torch.set_num_threads(n)
    dgl.utils.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before[0])
        dgl.utils.set_num_threads(before[1])


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    dgl.seed(seed)


def load_data(graph: Graph, dataset: str, ts: TrainSettings) -> TrainData:
    """Pull exactly what the configured model needs."""
    text = ts.model == "mllmrec"
    return load_train_data(graph, dataset, features=text, item_graph=text and ts.n_ii_layers > 0,
                           user_features=ts.use_user_pref)


def build_model(data: TrainData, ts: TrainSettings, device: torch.device) -> Recommender:
    """The configured model, built on the CPU (MLLMRec computes A.E there once) and placed on
    ``device`` by :func:`~mllmrec.train.placement.place`; a combination the installed DGL
    cannot run there is refused first."""
    check_device(ts.model, ts.ui_gcn, device)
    model: Recommender
    if ts.model == "bpr":
        model = BPRMF(data.n_users, data.n_items, ts.dim)
    elif ts.model == "lightgcn":
        model = LightGCN(data.n_users, data.n_items, data.ui_graph, ts.dim, ts.n_ui_layers)
    else:
        if data.item_feat is None:
            raise StageError("MLLMRec needs the item text features: pull them with load_data")
        model = MLLMRec(data.item_feat, data.user_feat if ts.use_user_pref else None, data.n_users,
                        dim=ts.dim, ii_graph=data.ii_graph, n_ii_layers=ts.n_ii_layers,
                        ui_graph=data.ui_graph if ts.ui_gcn else None, n_ui_layers=ts.n_ui_layers)
    return place(model, device)


def step_module(model: Recommender, ts: TrainSettings, ranks: Ranks, device: torch.device) -> nn.Module:
    """What a training step calls with a BPR batch: the model itself, or with ``minibatch`` its
    neighbour-sampled version (LightGCN and the UI-GCN variant only); wrapped in
    DistributedDataParallel when the job has several ranks."""
    module: nn.Module = model
    if ts.minibatch:
        if not needs_graph_on_device(ts.model, ts.ui_gcn):
            raise ConfigError("train.minibatch samples the user-item graph of LightGCN or the "
                              "--ui-gcn variant; BPR-MF and MLLMRec (A.E is computed once) "
                              "train on plain batches: drop --minibatch")
        module = SampledTraining(model, ts.fanout)  # type: ignore[arg-type]
    return wrap(module, ranks, device)


def bpr_loss(u: torch.Tensor, pos: torch.Tensor, neg: torch.Tensor,
             denom: float | None = None) -> torch.Tensor:
    """-sum log sigmoid(s(u, pos) - s(u, neg)) / denom; ``denom`` defaults to the batch size
    (the mean). A data-parallel rank passes global batch / ranks (:func:`distributed.shard`)."""
    total = -F.logsigmoid((u * pos).sum(-1) - (u * neg).sum(-1)).sum()
    return total / (len(u) if denom is None else denom)


def evaluate_model(model: Recommender, data: TrainData, split: int, ks: list[int],
                   batch_size: int) -> dict[str, float]:
    """Full-ranking metrics of ``model`` on a split (training items masked)."""
    model.eval()
    with torch.no_grad():
        users, items = model.all_repr()
        return evaluate(users, items, data.train, data.splits[split], ks, batch_size)


def run_dir(ts: TrainSettings, dataset: str, run_id: str) -> Path:
    return Path(ts.runs_dir) / dataset / run_id


def save_checkpoint(model: Recommender, folder: Path, data: TrainData, meta: dict[str, Any]) -> Path:
    """Weights as safetensors plus the id orders (written once per run folder) and settings
    needed to reuse them."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "model.safetensors"
    save_file({k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}, str(path))
    ids = folder / "ids.json"
    if not ids.exists():
        ids.write_text(json.dumps({"users": data.user_ids, "items": data.item_ids}))
    write_run_meta(folder, meta)
    return path


def write_run_meta(folder: Path, meta: dict[str, Any]) -> None:
    """The checkpoint's ``run.json`` (run id, model, settings, best epoch, metrics)."""
    (folder / "run.json").write_text(json.dumps(meta, indent=1, default=str))


def warm_start(model: Recommender, folder: Path, data: TrainData, model_name: str) -> int:
    """Initialise from a previous run's checkpoint (only files this project wrote:
    safetensors, never pickles). Same-shaped weights are copied; user/item ID embeddings are
    copied row by row for the ids both runs know. Returns the number of tensors loaded."""
    meta = json.loads((folder / "run.json").read_text())
    if meta.get("model") != model_name:
        raise StageError(f"cannot warm-start a {model_name} model from a {meta.get('model')} run")
    state = load_file(str(folder / "model.safetensors"))
    ids = json.loads((folder / "ids.json").read_text())
    own = model.state_dict()
    keyed = {"user_emb.weight": ("users", data.user_ids), "item_emb.weight": ("items", data.item_ids)}
    loaded = 0
    for name, old in state.items():
        if name not in own:
            continue
        if name in keyed:
            kind, new_ids = keyed[name]
            old_pos = {x: k for k, x in enumerate(ids[kind])}
            pairs = [(k, old_pos[x]) for k, x in enumerate(new_ids) if x in old_pos]
            if pairs and old.shape[1] == own[name].shape[1]:
                new_idx, old_idx = map(torch.tensor, zip(*pairs))
                own[name][new_idx] = old[old_idx].to(own[name].device)
                loaded += 1
        elif old.shape == own[name].shape:
            own[name] = old.to(own[name].device)
            loaded += 1
        else:
            raise StageError(f"checkpoint tensor {name} has shape {tuple(old.shape)}, the model "
                             f"needs {tuple(own[name].shape)} (different dim?)")
    model.load_state_dict(own)
    log.info("warm start from %s: %d tensors", folder, loaded)
    return loaded


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


@dataclass
class Run:
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


def fit_best(run: Run, model: Recommender, data: TrainData, ks: list[int],
             on_epoch: Callable[[EpochLog], None] | None = None, progress: bool = True,
             ranks: Ranks = SINGLE) -> tuple[list[EpochLog], int, dict[str, dict[str, float]]]:
    """The fit step: train with early stopping (a checkpoint per improvement), reload the best
    weights and evaluate them on validation and test. Returns history, best epoch, metrics."""
    history, best_state, best_epoch = fit(
        model, data, run.settings, ks, on_epoch=on_epoch, progress=progress, ranks=ranks,
        on_improve=lambda m, e: save_checkpoint(m, run.folder, data, {**run.meta, "best_epoch": e.epoch}))
    model.load_state_dict(best_state)
    metrics = {name: evaluate_model(model, data, split, ks, run.settings.eval_batch_size)
               for name, split in (("valid", VALID), ("test", TEST))}
    return history, best_epoch, metrics


def record(graph: Graph, run: Run, model: Recommender, data: TrainData, history: list[EpochLog],
           best_epoch: int, metrics: dict[str, dict[str, float]], serve: bool) -> RunSummary:
    """The record step: final checkpoint and curve in the run folder, the vectors staged in
    Neo4j (and served when ``serve``), the (:TrainingRun) node finished as ``ok``."""
    # The best weights were saved when they were reached: only the metadata changes.
    checkpoint = run.folder / "model.safetensors"
    write_run_meta(run.folder, {**run.meta, "best_epoch": best_epoch, "metrics": metrics})
    plot = plot_curves([h.epoch for h in history], [h.loss for h in history],
                       [h.valid[STOP_METRIC] for h in history], best_epoch,
                       run.folder / "curve.png", f"{run.dataset} {run.settings.model} {run.id}")
    with torch.no_grad():
        users, items = (t.detach().cpu().numpy() for t in model.all_repr())
    writeback.ensure_indexes(graph, run.settings.dim)
    writeback.stage_vectors(graph, run.dataset, run.id, data.user_ids, users, data.item_ids, items)
    if serve:
        writeback.promote_run(graph, run.dataset, run.id, data.n_users, data.n_items)
    run.lap("total")
    timings = {"load": run.timings["load"], "fit": run.timings["fit"] - run.timings["load"],
               "epochs": sum(h.train_seconds for h in history),
               "validation": sum(h.eval_seconds for h in history),
               "writeback": run.timings["total"] - run.timings["fit"], "total": run.timings["total"]}
    summary = RunSummary(
        run_id=run.id, dataset=run.dataset, model=run.settings.model, best_epoch=best_epoch,
        epochs=len(history), metrics=metrics, device=str(run.device), seconds=timings["total"],
        seconds_per_epoch=float(np.mean([h.train_seconds for h in history])),
        eval_seconds_per_epoch=float(np.mean([h.eval_seconds for h in history])),
        peak_memory_mb=_peak_memory_mb(run.device), run_dir=str(run.folder), served=serve,
        graph_build=data.graph_build, history=history)
    writeback.finish_run(graph, run.id, "ok", writeback.run_properties(metrics, {
        "best_epoch": best_epoch, "epochs": len(history), "timings": json.dumps(timings),
        "seconds_per_epoch": summary.seconds_per_epoch,
        "peak_memory_mb": summary.peak_memory_mb, "checkpoint": str(checkpoint),
        "plot": str(plot), "n_users": data.n_users, "n_items": data.n_items}))
    return summary


def train_model(graph: Graph, settings: Settings, *, init_run: str | None = None,
                serve: bool = True, on_epoch: Callable[[EpochLog], None] | None = None,
                progress: bool = True) -> RunSummary | None:
    """Train the configured model on ``settings.dataset``, evaluate it, write the run back:
    the pull (:func:`load_data`), fit (:func:`fit_best`) and record (:func:`record`) steps.

    ``init_run`` warm-starts from that run's checkpoint (same dataset folder); ``serve=False``
    stages the vectors without switching ``Dataset.serving_run`` (promote later with
    :func:`mllmrec.train.writeback.promote_run`); ``on_epoch`` sees every epoch's log (it may
    raise to abort the run: the run is then recorded as failed and nothing served changes).
    Under torchrun with several ranks (:mod:`.distributed`), rank 0 does all of that; the
    other ranks only read from Neo4j, train their share of every batch and return None.
    """
    ts, dataset = settings.train, settings.dataset
    ks = sorted(set(ts.topks) | {20})
    device, why = resolve_device(ts.device, ts.model, ts.ui_gcn)
    ranks, device = distributed.init(device)
    log.info("training %s on %s (%s)%s", ts.model, device, why,
             f", rank {ranks.rank} of {ranks.world}" if ranks.distributed else "")
    params = {**ts.model_dump(mode="json"), "init_run": init_run, "serve": serve, "nproc": ranks.world}
    with cpu_threads(ts.threads):
        if ranks.is_main:
            summary = _train_main(graph, settings, device, params, ks, init_run, serve,
                                  on_epoch, progress, ranks)
        else:
            seed_everything(ts.seed)
            data = load_data(graph, dataset, ts)
            fit(build_model(data, ts, device), data, ts, ks, progress=False, ranks=ranks)
            summary = None
    distributed.shutdown()  # after an error the process exit releases the group
    return summary


def _train_main(graph: Graph, settings: Settings, device: torch.device, params: dict[str, Any],
                ks: list[int], init_run: str | None, serve: bool,
                on_epoch: Callable[[EpochLog], None] | None, progress: bool, ranks: Ranks) -> RunSummary:
    """Rank 0 (or the only process): provenance, the three steps, the run node's outcome."""
    ts, dataset = settings.train, settings.dataset
    with stage_run(graph, dataset, "train", params) as rec:
        run_id = f"{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}"
        rec.counts["run"] = run_id
        run = Run(run_id, dataset, ts, params, device, run_dir(ts, dataset, run_id))
        seed_everything(ts.seed)
        data = load_data(graph, dataset, ts)
        run.lap("load")
        model = build_model(data, ts, device)
        scope = writeback.start_run(graph, run_id, dataset, ts.model, params, str(device),
                                    data.graph_build)
        if scope != "train":
            log.warning("run %s trains on LEAKY user texts (history scope '%s': validation and "
                        "test items in them); its metrics are for comparison only", run_id, scope)
        try:
            if init_run:
                warm_start(model, run_dir(ts, dataset, init_run), data, ts.model)
            history, best_epoch, metrics = fit_best(run, model, data, ks, on_epoch, progress, ranks)
            run.lap("fit")
            summary = record(graph, run, model, data, history, best_epoch, metrics, serve)
            summary.user_text_scope = scope
        except BaseException as exc:
            writeback.finish_run(graph, run_id, "failed", {"error": f"{type(exc).__name__}: {exc}"[:2000]})
            raise
        rec.counts.update({**data.counts, "epochs": len(history), "best_epoch": best_epoch,
                           "test_recall_20": metrics["test"]["recall@20"]})
    return summary


def _peak_memory_mb(device: torch.device) -> float:
    """Peak resident memory of this process (CPU) or peak allocated CUDA memory."""
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def evaluate_stored(graph: Graph, dataset: str, ks: list[int], batch_size: int = 1024
                    ) -> tuple[str, dict[str, dict[str, float]]]:
    """Metrics of the serving run computed from the vectors stored in Neo4j (what
    recommendations use), per split. Returns the run id and ``{"valid": ..., "test": ...}``."""
    run = writeback.serving_run(graph, dataset)["run"]
    data = load_train_data(graph, dataset, features=False, item_graph=False)
    users, items = writeback.stored_vectors(graph, dataset, run, data.user_ids, data.item_ids)
    u, i = torch.from_numpy(users), torch.from_numpy(items)
    return run, {name: evaluate(u, i, data.train, data.splits[split], ks, batch_size)
                 for name, split in (("valid", VALID), ("test", TEST))}
