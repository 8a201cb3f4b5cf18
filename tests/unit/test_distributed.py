"""Data-parallel primitives (mllmrec/train/distributed.py) with 2 real gloo processes."""
from __future__ import annotations

import json
import os
from pathlib import Path

import torch
import torch.distributed as td
import torch.multiprocessing as mp

from mllmrec.train.distributed import Ranks, agree, shard, torchrun_argv


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


def _worker(rank: int, port: int, out: str) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    td.init_process_group("gloo", rank=rank, world_size=2)
    ranks = Ranks(rank, 2)
    try:
        Path(f"{out}.{rank}").write_text(json.dumps([agree(f, ranks) for f in (rank == 0, rank == 1)]))
    finally:
        td.destroy_process_group()


def test_agree_takes_rank_0s_decision(tmp_path):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    mp.spawn(_worker, args=(port, str(tmp_path / "r")), nprocs=2)
    for rank in (0, 1):
        assert json.loads((tmp_path / f"r.{rank}").read_text()) == [True, False]


def test_torchrun_line_runs_the_package_on_n_local_processes():
    argv = torchrun_argv(2, ["-d", "x", "train", "--epochs", "3"])
    assert argv[1:4] == ["-m", "torch.distributed.run", "--standalone"]
    assert "--nproc-per-node=2" in argv and argv[-6:] == ["mllmrec", "-d", "x", "train", "--epochs", "3"]


def test_single_rank_share_is_the_batch():
    got = list(shard(_batches(), Ranks(0, 1)))
    assert all(torch.equal(a[0][0], b[0]) and a[1] == len(b[0]) for a, b in zip(got, _batches()))
