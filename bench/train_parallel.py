"""LightGCN epoch times on the Sports-shaped catalogue: full-graph vs neighbour-sampled
mini-batches (``train.minibatch``), and 1 vs 2 data-parallel processes (gloo).

Every figure is one training epoch of the real trainer (:func:`mllmrec.train.trainer.train_epoch`:
BPR sampling, forward, backward, Adam; no evaluation) on an in-memory synthetic catalogue of
the Amazon Sports shape (``bench.train_speed.synthetic_train_data``; no Neo4j). The 2-process
row spawns two gloo ranks on this machine, each with one thread, training disjoint halves of
every global batch (the same global batch size as the 1-process rows); its time is rank 0's.
Ratios are against the full-graph 1-process epoch measured in the same run. Section
``train-parallel`` (``--quick``: 30,000 interactions).
"""
from __future__ import annotations

import json
import logging
import os
import socket
import tempfile
import time
from pathlib import Path
from typing import Any

import torch
import torch.multiprocessing as mp

from bench.common import load_average
from bench.context import Context
from bench.train_speed import QUICK_INTERACTIONS, SPORTS_INTERACTIONS, synthetic_train_data
from mllmrec.config import TrainSettings
from mllmrec.train.bpr import BPRSampler
from mllmrec.train.data import TrainData
from mllmrec.train.determinism import cpu_threads, seed_everything
from mllmrec.train.distributed import SINGLE, Ranks, init, shutdown
from mllmrec.train.registry import build_model
from mllmrec.train.trainer import step_module, train_epoch

log = logging.getLogger(__name__)

CPU = torch.device("cpu")
FANOUTS = (-1, 10)


def section(ctx: Context) -> None:
    """LightGCN (2 layers, d=64, batch 2048), one epoch per setting, one thread per process."""
    n = QUICK_INTERACTIONS if ctx.options.quick else SPORTS_INTERACTIONS
    log.info("== train-parallel on %d synthetic interactions", n)
    ctx.save("train-parallel", {"interactions": n, "rows": run(n, FANOUTS, threads=1)})


def epoch_seconds(data: TrainData, ts: TrainSettings, ranks: Ranks = SINGLE) -> float:
    """Wall seconds of one training epoch of the configured model (built and seeded first)."""
    seed_everything(ts.seed)
    model = build_model(data, ts, CPU)
    module = step_module(model, ts, ranks, CPU)
    opt = torch.optim.Adam(module.parameters(), lr=ts.lr)
    sampler = BPRSampler(data.train, ts.seed)
    t0 = time.perf_counter()
    train_epoch(module, sampler, opt, ts.batch_size, CPU, ranks)
    return time.perf_counter() - t0


def _rank(rank: int, port: int, n_interactions: int, ts_json: str, out: str) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank),
                      LOCAL_RANK=str(rank), WORLD_SIZE="2")
    torch.set_num_threads(1)
    ranks, _ = init(CPU)
    seconds = epoch_seconds(synthetic_train_data(n_interactions), TrainSettings.model_validate_json(ts_json),
                            ranks)
    if ranks.is_main:
        Path(out).write_text(json.dumps(seconds))
    shutdown()  # an error leaves the group to the process exit


def two_process_epoch_seconds(n_interactions: int, ts: TrainSettings) -> float:
    """Rank 0's epoch time of a 2-rank gloo job on this machine."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with tempfile.TemporaryDirectory() as tmp:
        out = str(Path(tmp) / "seconds.json")
        mp.spawn(_rank, args=(port, n_interactions, ts.model_dump_json(), out), nprocs=2)
        return float(json.loads(Path(out).read_text()))


def run(n_interactions: int = SPORTS_INTERACTIONS, fanouts: tuple[int, ...] = FANOUTS,
        threads: int = 1) -> list[dict[str, Any]]:
    """Rows {setting, processes, seconds, ratio (vs full-graph, 1 process), load_average}."""
    data = synthetic_train_data(n_interactions)
    base = TrainSettings(model="lightgcn", threads=threads)
    rows: list[dict[str, Any]] = []

    def add(setting: str, processes: int, seconds: float) -> None:
        rows.append({"setting": setting, "processes": processes, "seconds": round(seconds, 2),
                     "ratio": round(seconds / rows[0]["seconds"], 2) if rows else 1.0,
                     "load_average": load_average()[0]})

    with cpu_threads(threads):
        add("full-graph", 1, epoch_seconds(data, base))
        for fanout in fanouts:
            ts = base.model_copy(update={"minibatch": True, "fanout": fanout})
            add(f"sampled, fanout {fanout}", 1, epoch_seconds(data, ts))
    add("full-graph", 2, two_process_epoch_seconds(n_interactions, base))
    return rows
