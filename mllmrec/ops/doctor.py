"""``mllmrec doctor``: can this machine train on its GPU, and does the GPU agree with the CPU?

For every model (BPR-MF, LightGCN, MLLMRec) and every device (CUDA when present, then the
CPU) it trains a few epochs from the same seed on the dataset pulled from Neo4j, evaluates on
validation and compares the GPU metrics with the CPU ones. It says what ran where and why
(e.g. LightGCN stays on the CPU when the installed DGL is a CPU build). Read-only: nothing
is written to Neo4j and no run is recorded.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import dgl
import torch

from mllmrec.config import Settings, TrainSettings
from mllmrec.db import Store
from mllmrec.errors import ConfigError, StageError
from mllmrec.train.data import VALID, TrainData, load_train_data
from mllmrec.train.determinism import cpu_threads, seed_everything
from mllmrec.train.metrics import evaluate_model
from mllmrec.train.placement import CUDA_DGL_INSTALL, check_device, dgl_can_use
from mllmrec.train.registry import MODELS, build_model, model_needs
from mllmrec.train.trainer import fit

log = logging.getLogger(__name__)

METRIC = "recall@20"
TOLERANCE = 0.02  # |GPU - CPU| validation Recall@20 after the same epochs from the same seed


@dataclass
class Check:
    """One model on one device: what happened and why."""

    model: str
    device: str
    ran: bool
    why: str
    valid: dict[str, float] | None = None
    seconds_per_epoch: float | None = None


def environment() -> list[str]:
    """What the installed libraries can use, one line each."""
    cuda = torch.cuda.is_available()
    gpu = torch.cuda.get_device_name(0) if cuda else "none visible"
    return [f"torch {torch.__version__} (CUDA build: {torch.version.cuda or 'no'}), GPU: {gpu}",
            f"DGL {dgl.__version__}: CUDA {'usable' if cuda and dgl_can_use(torch.device('cuda')) else 'not usable'}"
            + ("" if cuda and dgl_can_use(torch.device("cuda")) else
               f" (a CPU build, or no GPU; CUDA DGL: {CUDA_DGL_INSTALL})")]


def _pull(store: Store, dataset: str) -> tuple[TrainData, str | None]:
    """Everything every model needs; without text features or item graph, MLLMRec is skipped
    with the reason returned."""
    try:
        return load_train_data(store, dataset), None
    except StageError as exc:
        return load_train_data(store, dataset, features=False, item_graph=False), str(exc)


def _one(data: TrainData, ts: TrainSettings, device: torch.device) -> Check:
    try:
        check_device(model_needs(ts), device)
    except ConfigError as exc:
        return Check(ts.model, str(device), False, str(exc))
    seed_everything(ts.seed)
    model = build_model(data, ts, device)
    t0 = time.perf_counter()
    history, _, _ = fit(model, data, ts, [20], progress=False)
    why = "CPU reference" if device.type == "cpu" else "GPU usable for this model"
    return Check(ts.model, str(device), True, why,
                 evaluate_model(model, data, VALID, [20], ts.eval_batch_size),
                 (time.perf_counter() - t0) / len(history))


def run_doctor(store: Store, settings: Settings, epochs: int = 2,
               models: tuple[str, ...] = tuple(MODELS)) -> list[Check]:
    """Train ``epochs`` epochs of each model on the GPU (if any) and on the CPU."""
    data, no_text = _pull(store, settings.dataset)
    devices = [torch.device("cuda")] if torch.cuda.is_available() else []
    checks: list[Check] = []
    with cpu_threads(settings.train.threads):
        for name in models:
            ts = settings.train.model_copy(update={"model": name, "epochs": epochs, "patience": epochs + 1})
            if model_needs(ts).item_features and no_text:
                checks.append(Check(name, "-", False, f"skipped: {no_text}"))
                continue
            if not devices:
                checks.append(Check(name, "cuda", False, "skipped: torch sees no CUDA GPU on this machine"))
            for device in [*devices, torch.device("cpu")]:
                log.info("doctor: %s on %s", name, device)
                checks.append(_one(data, ts, device))
    return checks


def report(checks: list[Check]) -> list[str]:
    """Lines for the terminal: one per check, then the GPU/CPU comparison per model."""
    lines = [f"{'model':<9} {'device':<7} {'ran':<4} {'s/epoch':>8} {'valid R@20':>11}  why"]
    for c in checks:
        spe = f"{c.seconds_per_epoch:8.2f}" if c.seconds_per_epoch is not None else f"{'-':>8}"
        r20 = f"{c.valid[METRIC]:11.4f}" if c.valid else f"{'-':>11}"
        lines.append(f"{c.model:<9} {c.device:<7} {'yes' if c.ran else 'no':<4} {spe} {r20}  {c.why}")
    for name in dict.fromkeys(c.model for c in checks):
        ran = {c.device: c.valid for c in checks if c.model == name and c.ran and c.valid}
        gpu, cpu = ran.get("cuda"), ran.get("cpu")
        if gpu and cpu:
            diff = abs(gpu[METRIC] - cpu[METRIC])
            verdict = "agree" if diff <= TOLERANCE else "DISAGREE"
            lines.append(f"{name}: GPU and CPU {verdict} (|delta valid R@20| = {diff:.4f}, "
                         f"tolerance {TOLERANCE})")
        elif cpu:
            lines.append(f"{name}: CPU only, nothing to compare")
    return lines
