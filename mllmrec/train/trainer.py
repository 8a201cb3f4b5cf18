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
from tqdm.auto import tqdm

from mllmrec.config import Settings, TrainSettings
from mllmrec.db import Graph
from mllmrec.errors import ConfigError, StageError
from mllmrec.provenance import stage_run
from mllmrec.train import writeback
from mllmrec.train.baselines import BPRMF, LightGCN
from mllmrec.train.data import TEST, VALID, TrainData, load_train_data
from mllmrec.train.metrics import evaluate
from mllmrec.train.model import MLLMRec, Recommender
from mllmrec.train.plots import plot_curves
from mllmrec.train.sampler import BPRSampler

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

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def resolve_device(name: str) -> torch.device:
    """``cpu``, ``cuda`` (error when unusable) or ``auto`` (CUDA when both torch and DGL can
    use it; PyPI's DGL is a CPU build, DGL's own wheel index has CUDA builds)."""
    if name == "cpu":
        return torch.device("cpu")
    usable = torch.cuda.is_available() and _dgl_has_cuda()
    if name == "cuda" and not usable:
        raise ConfigError("train.device=cuda but CUDA is not usable here (torch sees no GPU or "
                          "DGL is a CPU build: install DGL's CUDA wheel); use --device cpu or auto")
    return torch.device("cuda" if usable else "cpu")


def _dgl_has_cuda() -> bool:
    try:
        dgl.graph(([0], [0])).to("cuda")
        return True
    except Exception:  # noqa: BLE001 - any failure means "not usable"
        return False


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
    """The configured model on ``device`` (graphs moved there too)."""
    if ts.model == "bpr":
        return BPRMF(data.n_users, data.n_items, ts.dim).to(device)
    if ts.model == "lightgcn":
        return LightGCN(data.n_users, data.n_items, data.ui_graph.to(device), ts.dim,
                        ts.n_ui_layers).to(device)
    if ts.minibatch and ts.ui_gcn:
        raise ConfigError("train.ui_gcn needs full-graph mode; drop --minibatch or --ui-gcn")
    ii = data.ii_graph
    assert data.item_feat is not None  # the pull requires every item's vector
    model = MLLMRec(data.item_feat, data.user_feat if ts.use_user_pref else None, data.n_users,
                    dim=ts.dim, ii_graph=ii if ts.minibatch else (ii.to(device) if ii is not None else None),
                    n_ii_layers=ts.n_ii_layers,
                    ui_graph=data.ui_graph.to(device) if ts.ui_gcn else None,
                    n_ui_layers=ts.n_ui_layers,
                    minibatch_fanout=ts.fanout if ts.minibatch else None)
    return model.to(device)


def bpr_loss(u: torch.Tensor, pos: torch.Tensor, neg: torch.Tensor) -> torch.Tensor:
    """-mean log sigmoid(s(u, pos) - s(u, neg))."""
    return -F.logsigmoid((u * pos).sum(-1) - (u * neg).sum(-1)).mean()


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


def train_epoch(model: Recommender, sampler: BPRSampler, opt: torch.optim.Optimizer,
                batch_size: int, device: torch.device) -> float:
    """One BPR pass over every training interaction; returns the mean loss. The loss is
    summed on the device and read once at the end (no host sync per batch)."""
    model.train()
    total = torch.zeros((), dtype=torch.float64, device=device)
    for users, pos, neg in sampler.epoch(batch_size):
        u, p, q = model(users.to(device), pos.to(device), neg.to(device))
        loss = bpr_loss(u, p, q)
        opt.zero_grad()
        loss.backward()
        opt.step()
        total += loss.detach() * len(users)
    return float(total) / len(sampler)


def fit(model: Recommender, data: TrainData, ts: TrainSettings, ks: list[int],
        on_epoch: Callable[[EpochLog], None] | None = None,
        on_improve: Callable[[Recommender, EpochLog], object] | None = None,
        progress: bool = True) -> tuple[list[EpochLog], dict[str, torch.Tensor], int]:
    """Train with early stopping; returns the history, the best state and its epoch."""
    sampler = BPRSampler(data.train, ts.seed)
    opt = torch.optim.Adam(model.parameters(), lr=ts.lr)
    device = next(model.parameters()).device
    history: list[EpochLog] = []
    best, best_epoch, best_state = -1.0, 0, copy.deepcopy(model.state_dict())
    bar = tqdm(range(1, ts.epochs + 1), desc=f"train {ts.model}", unit="epoch", disable=not progress)
    for epoch in bar:
        t0 = time.perf_counter()
        loss = train_epoch(model, sampler, opt, ts.batch_size, device)
        t1 = time.perf_counter()
        valid = evaluate_model(model, data, VALID, ks, ts.eval_batch_size)
        rec = EpochLog(epoch, loss, valid, t1 - t0, time.perf_counter() - t1)
        history.append(rec)
        if valid[STOP_METRIC] > best:
            best, best_epoch = valid[STOP_METRIC], epoch
            best_state = copy.deepcopy(model.state_dict())
            if on_improve:
                on_improve(model, rec)
        bar.set_postfix(loss=f"{rec.loss:.4f}", r20=f"{valid[STOP_METRIC]:.4f}", best=best_epoch)
        if on_epoch:
            on_epoch(rec)
        if epoch - best_epoch >= ts.patience:
            log.info("early stop at epoch %d (best %d)", epoch, best_epoch)
            break
    return history, best_state, best_epoch


def train_model(graph: Graph, settings: Settings, *, init_run: str | None = None,
                serve: bool = True, on_epoch: Callable[[EpochLog], None] | None = None,
                progress: bool = True) -> RunSummary:
    """Train the configured model on ``settings.dataset``, evaluate it, write the run back.

    ``init_run`` warm-starts from that run's checkpoint (same dataset folder); ``serve=False``
    stages the vectors without switching ``Dataset.serving_run`` (promote later with
    :func:`mllmrec.train.writeback.promote_run`); ``on_epoch`` sees every epoch's log (it may
    raise to abort the run: the run is then recorded as failed and nothing served changes).
    """
    ts, dataset = settings.train, settings.dataset
    ks = sorted(set(ts.topks) | {20})
    params = {**ts.model_dump(mode="json"), "init_run": init_run, "serve": serve}
    with cpu_threads(ts.threads), stage_run(graph, dataset, "train", params) as rec:
        t_start = time.perf_counter()
        run_id = f"{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}"
        rec.counts["run"] = run_id
        device = resolve_device(ts.device)
        seed_everything(ts.seed)
        data = load_data(graph, dataset, ts)
        t_loaded = time.perf_counter()
        model = build_model(data, ts, device)
        folder = run_dir(ts, dataset, run_id)
        writeback.start_run(graph, run_id, dataset, ts.model, params, str(device), data.graph_build)
        try:
            if init_run:
                warm_start(model, run_dir(ts, dataset, init_run), data, ts.model)
            meta = {"run_id": run_id, "dataset": dataset, "model": ts.model, "settings": params}
            history, best_state, best_epoch = fit(
                model, data, ts, ks, on_epoch=on_epoch, progress=progress,
                on_improve=lambda m, e: save_checkpoint(m, folder, data, {**meta, "best_epoch": e.epoch}))
            t_fit = time.perf_counter()
            model.load_state_dict(best_state)
            metrics = {name: evaluate_model(model, data, split, ks, ts.eval_batch_size)
                       for name, split in (("valid", VALID), ("test", TEST))}
            # The best weights were saved when they were reached: only the metadata changes.
            checkpoint = folder / "model.safetensors"
            write_run_meta(folder, {**meta, "best_epoch": best_epoch, "metrics": metrics})
            plot = plot_curves([h.epoch for h in history], [h.loss for h in history],
                               [h.valid[STOP_METRIC] for h in history], best_epoch,
                               folder / "curve.png", f"{dataset} {ts.model} {run_id}")
            with torch.no_grad():
                users, items = (t.detach().cpu().numpy() for t in model.all_repr())
            writeback.ensure_indexes(graph, ts.dim)
            writeback.stage_vectors(graph, dataset, run_id, data.user_ids, users, data.item_ids, items)
            if serve:
                writeback.promote_run(graph, dataset, run_id, data.n_users, data.n_items)
            t_end = time.perf_counter()
            summary = RunSummary(
                run_id=run_id, dataset=dataset, model=ts.model, best_epoch=best_epoch,
                epochs=len(history), metrics=metrics, device=str(device),
                seconds=t_end - t_start,
                seconds_per_epoch=float(np.mean([h.train_seconds for h in history])),
                eval_seconds_per_epoch=float(np.mean([h.eval_seconds for h in history])),
                peak_memory_mb=_peak_memory_mb(device), run_dir=str(folder), served=serve,
                graph_build=data.graph_build, history=history)
            timings = {"load": t_loaded - t_start, "fit": t_fit - t_loaded,
                       "epochs": sum(h.train_seconds for h in history),
                       "validation": sum(h.eval_seconds for h in history),
                       "writeback": t_end - t_fit, "total": t_end - t_start}
            writeback.finish_run(graph, run_id, "ok", writeback.run_properties(metrics, {
                "best_epoch": best_epoch, "epochs": len(history), "timings": json.dumps(timings),
                "seconds_per_epoch": summary.seconds_per_epoch,
                "peak_memory_mb": summary.peak_memory_mb, "checkpoint": str(checkpoint),
                "plot": str(plot), "n_users": data.n_users, "n_items": data.n_items}))
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
