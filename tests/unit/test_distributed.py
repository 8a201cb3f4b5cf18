"""Data-parallel primitives (mllmrec/train/distributed.py) with 2 real gloo processes."""
from __future__ import annotations

import json
import os
import socket
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
import torch
import torch.multiprocessing as mp

from mllmrec.config import TrainSettings
from mllmrec.train.data import TrainData
from mllmrec.train.determinism import seed_everything
from mllmrec.train.distributed import (
    SINGLE,
    Ranks,
    init,
    shard,
    shutdown,
    torchrun_argv,
    without_nproc,
)
from mllmrec.train.registry import build_model
from mllmrec.train.trainer import fit


def _batches():
    g = torch.Generator().manual_seed(0)
    return [tuple(torch.randint(0, 50, (n,), generator=g) for _ in range(3)) for n in (7, 8, 1)]


def test_shards_are_disjoint_cover_each_global_batch_and_carry_its_size():
    for world in (1, 2, 3):
        shares = [list(shard(_batches(), Ranks(r, world))) for r in range(world)]
        for b, batch in enumerate(_batches()):
            parts = [shares[r][b][0] for r in range(world)]
            for k in range(3):
                assert torch.equal(torch.cat([p[k] for p in parts]), batch[k])
            assert {shares[r][b][1] for r in range(world)} == {len(batch[0]) / world}


def _data() -> TrainData:
    rng = np.random.default_rng(0)
    m, n = 120, 90
    splits = {}
    taken = rng.random((m, n))
    for split, (lo, hi) in enumerate([(0.0, 0.12), (0.12, 0.15), (0.15, 0.18)]):
        splits[split] = sp.csr_matrix(((taken >= lo) & (taken < hi)).astype(np.float32))
    return TrainData("mem", [f"u{k}" for k in range(m)], [f"i{k}" for k in range(n)], splits)


def _settings(model: str) -> TrainSettings:
    return TrainSettings(model=model, dim=8, batch_size=101, epochs=6, patience=2, lr=0.01, seed=3)


def _fit(model: str, ranks) -> list[dict]:
    data, ts = _data(), _settings(model)
    seed_everything(ts.seed)
    history, _, _ = fit(build_model(data, ts, torch.device("cpu")), data, ts, [20], progress=False,
                        ranks=ranks)
    return [{"loss": h.loss, "r20": h.valid.get("recall@20")} for h in history]


def _worker(rank: int, port: int, model: str, out: str) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank),
                      LOCAL_RANK=str(rank), WORLD_SIZE="2", OMP_NUM_THREADS="1")
    torch.set_num_threads(1)
    ranks, _ = init(torch.device("cpu"))  # joins the job from the environment, as under torchrun
    Path(f"{out}.{rank}").write_text(json.dumps(_fit(model, ranks)))
    shutdown()  # an error leaves the group to the process exit, as the trainer does


def _spawn_two(port: int, model: str, out: Path, fit_seconds: float = 600,
               teardown_seconds: float = 60) -> None:
    """Run the two ranks to the end. Once both have written their results, a rank still
    inside ``shutdown`` after ``teardown_seconds`` is gloo's rare teardown hang
    (pytorch/pytorch#75097, seen once here in a rank's futex after the barrier): it is killed
    with a warning instead of hanging the suite, since what this test checks is written."""
    ctx = mp.start_processes(_worker, args=(port, model, str(out)), nprocs=2, join=False,
                             start_method="spawn")
    start = time.monotonic()
    written: float | None = None
    while not ctx.join(timeout=2):
        now = time.monotonic()
        if written is None and all(Path(f"{out}.{r}").exists() for r in (0, 1)):
            written = now
        if written is not None and now - written > teardown_seconds:
            for p in ctx.processes:
                p.kill()
            warnings.warn("a gloo rank hung in teardown after writing its results "
                          "(pytorch/pytorch#75097); killed", RuntimeWarning, stacklevel=1)
            return
        if written is None and now - start > fit_seconds:
            for p in ctx.processes:
                p.kill()
            pytest.fail(f"the two ranks did not finish training in {fit_seconds:.0f} s")


@pytest.mark.parametrize("model", ["bpr", "lightgcn"])
def test_two_gloo_ranks_follow_one_process_with_the_same_global_batch(tmp_path, model):
    """Same seeded permutation and negatives, disjoint halves of each global batch, gradients
    averaged: every epoch's loss and validation Recall@20 match the single-process run, and
    both ranks stop at the same epoch (rank 0's decision)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    _spawn_two(port, model, tmp_path / "r")
    rank0, rank1 = (json.loads((tmp_path / f"r.{r}").read_text()) for r in (0, 1))
    single = _fit(model, SINGLE)
    assert len(rank0) == len(rank1) == len(single)
    assert all(e["r20"] is None for e in rank1)  # only rank 0 evaluates
    for a, b, c in zip(rank0, rank1, single):
        assert abs(a["loss"] - c["loss"]) < 1e-5 and abs(b["loss"] - c["loss"]) < 1e-5
        assert abs(a["r20"] - c["r20"]) <= 0.005


def test_torchrun_line_runs_the_package_on_n_local_processes():
    argv = torchrun_argv(2, ["-d", "x", "train", "--epochs", "3"])
    assert argv[1:4] == ["-m", "torch.distributed.run", "--standalone"]
    assert "--nproc-per-node=2" in argv and argv[-6:] == ["mllmrec", "-d", "x", "train", "--epochs", "3"]


def test_single_rank_share_is_the_batch():
    got = list(shard(_batches(), Ranks(0, 1)))
    assert all(torch.equal(a[0][0], b[0]) and a[1] == len(b[0]) for a, b in zip(got, _batches()))


def test_ranks_are_launched_without_nproc():
    assert without_nproc(["-d", "x", "train", "--nproc", "2", "--epochs", "3", "--nproc=4"]) == [
        "-d", "x", "train", "--epochs", "3"]


def _join_a_group_of_one(tmp_path: Path) -> None:
    import torch.distributed as td

    td.init_process_group("gloo", init_method=f"file://{tmp_path / 'store'}", rank=0, world_size=1)


def test_shutdown_leaves_the_group(tmp_path):
    import torch.distributed as td

    _join_a_group_of_one(tmp_path)
    shutdown()
    assert not td.is_initialized()


def test_shutdown_does_not_wait_forever_on_a_teardown_that_hangs(tmp_path, monkeypatch, caplog):
    """gloo's rare teardown hang (pytorch/pytorch#75097), reproduced by a destroy that blocks:
    the rank warns after the grace period and returns instead of hanging its job."""
    import threading

    import torch.distributed as td

    _join_a_group_of_one(tmp_path)
    real_destroy, release = td.destroy_process_group, threading.Event()

    def hanging_destroy() -> None:
        release.wait(30)
        real_destroy()

    monkeypatch.setattr(td, "destroy_process_group", hanging_destroy)
    start = time.monotonic()
    with caplog.at_level("WARNING", logger="mllmrec.train.distributed"):
        shutdown(grace_seconds=0.5)
    assert time.monotonic() - start < 10
    assert "pytorch/pytorch#75097" in caplog.text and td.is_initialized()
    release.set()  # let the blocked teardown finish, so no group outlives this test
    for _ in range(100):
        if not td.is_initialized():
            break
        time.sleep(0.05)
    assert not td.is_initialized()
