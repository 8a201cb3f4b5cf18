"""Data-parallel training with ``torch.distributed`` (DistributedDataParallel).

Launched by ``torchrun`` (``mllmrec train --nproc N`` runs it for you), one process per rank:

- every rank seeds the same generators, so all draw the same epoch permutation of the BPR
  triples and the same negatives; each global batch is cut into ``world`` disjoint contiguous
  shares and a rank trains on its own (:func:`shard`);
- the loss of a share is its sum divided by ``global batch / world``: DDP averages gradients
  over ranks, so the step equals the single-process step on the whole global batch;
- rank 0 evaluates, decides early stopping (:func:`agree`, broadcast), checkpoints and writes
  to Neo4j; the other ranks only read.

Backends: gloo on the CPU, NCCL on CUDA (one GPU per local rank).
"""
from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import torch
import torch.distributed as td
from torch import nn
from torch.nn.parallel import DistributedDataParallel

log = logging.getLogger(__name__)

Triple = tuple[torch.Tensor, torch.Tensor, torch.Tensor]


@dataclass(frozen=True)
class Ranks:
    """This process's place in the job (``world == 1``: not distributed)."""

    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world > 1


SINGLE = Ranks()  # the one process of a job that is not distributed


def under_launcher() -> bool:
    """Whether this process was started by torchrun with more than one rank."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def is_main_rank() -> bool:
    """Whether this process is rank 0 of its job (or not part of a job)."""
    return int(os.environ.get("RANK", "0")) == 0


def backend_for(device: torch.device) -> str:
    return "nccl" if device.type == "cuda" else "gloo"


def init(device: torch.device) -> tuple[Ranks, torch.device]:
    """Join the torchrun job described by the environment (no-op for a single process);
    returns the ranks and this rank's device (``cuda:LOCAL_RANK`` on CUDA)."""
    if not under_launcher():
        return SINGLE, device
    ranks = Ranks(int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"]),
                  int(os.environ.get("LOCAL_RANK", "0")))
    if device.type == "cuda":
        device = torch.device("cuda", ranks.local_rank)
        torch.cuda.set_device(device)
    if not td.is_initialized():
        td.init_process_group(backend_for(device))
    log.info("rank %d of %d on %s (%s)", ranks.rank, ranks.world, device, backend_for(device))
    return ranks, device


def shutdown(grace_seconds: float = 60.0) -> None:
    """Leave the process group (if any) after a clean run; the ranks first meet at a barrier:
    destroying the group while a peer is still at work (rank 0 writes back alone) can hang
    gloo (pytorch/pytorch#75097; seen here as a rank stuck in ``destroy_process_group``).
    Even after the barrier that hang comes back now and then (a rank asleep in a futex
    after its peer left), so the group is destroyed on a daemon thread: after
    ``grace_seconds`` the rank logs a warning and goes on without it, since everything the
    run had to write is written by then. Not for the error path: a barrier could wait on a
    peer stuck in a collective, and the process's exit releases the group anyway."""
    if not td.is_initialized():
        return
    td.barrier()
    leaving = threading.Thread(target=td.destroy_process_group, name="leave-process-group", daemon=True)
    leaving.start()
    leaving.join(grace_seconds)
    if leaving.is_alive():
        log.warning("leaving the process group did not finish in %.0f s (gloo teardown hang, "
                    "pytorch/pytorch#75097); the run is complete, so this rank exits without it",
                    grace_seconds)


def shard(batches: Iterable[Triple], ranks: Ranks) -> Iterator[tuple[Triple, float]]:
    """This rank's contiguous share of every global batch, with the loss denominator
    ``global batch size / world`` (a share's summed loss over it, averaged by DDP across ranks,
    is the mean loss of the global batch)."""
    for batch in batches:
        denom = len(batch[0]) / ranks.world
        if not ranks.distributed:
            yield batch, denom
            continue
        parts = [torch.tensor_split(t, ranks.world)[ranks.rank] for t in batch]
        yield (parts[0], parts[1], parts[2]), denom


def wrap(module: nn.Module, ranks: Ranks, device: torch.device) -> nn.Module:
    """The module to call in the training loop: DistributedDataParallel around ``module``
    when distributed (it broadcasts rank 0's initial weights), else ``module`` itself."""
    if not ranks.distributed:
        return module
    ids = [device.index] if device.type == "cuda" else None
    return DistributedDataParallel(module, device_ids=ids)


def agree(flag: bool, ranks: Ranks) -> bool:
    """Rank 0's ``flag`` on every rank (e.g. "stop now" after rank 0's evaluation)."""
    if not ranks.distributed:
        return flag
    t = torch.tensor([int(flag)], dtype=torch.int64)
    td.broadcast(t, src=0)
    return bool(t.item())


def sum_over_ranks(t: torch.Tensor, ranks: Ranks) -> torch.Tensor:
    """The sum of ``t`` over all ranks (``t`` itself when not distributed)."""
    if ranks.distributed:
        td.all_reduce(t)
    return t


def torchrun_argv(nproc: int, argv: list[str]) -> list[str]:
    """The torchrun command line that runs ``mllmrec <argv>`` on ``nproc`` local processes
    (a single-node job on a free port)."""
    return [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={nproc}",
            "-m", "mllmrec", *argv]


def without_nproc(argv: list[str]) -> list[str]:
    """``argv`` without its ``--nproc N`` / ``--nproc=N`` (the ranks must not launch again)."""
    out, skip = [], False
    for arg in argv:
        if skip:
            skip = False
        elif arg == "--nproc":
            skip = True
        elif not arg.startswith("--nproc="):
            out.append(arg)
    return out


def launch(nproc: int, argv: list[str]) -> int:
    """Run ``mllmrec <argv>`` on ``nproc`` local processes under torchrun; its exit code."""
    cmd = torchrun_argv(nproc, without_nproc(argv))
    log.info("launching: %s", " ".join(cmd))
    return subprocess.call(cmd)
