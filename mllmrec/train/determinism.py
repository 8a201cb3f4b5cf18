"""Seeds, threads and kernels of a training run: what makes the same seed give the same numbers.

- Every generator is seeded from ``train.seed`` (:func:`seed_everything`: Python, numpy,
  torch, DGL); the BPR sampler draws from its own generator seeded the same way.
- That is not enough with more than one CPU thread. The backward of advanced indexing
  (``x[idx]``, in every model's forward) adds the gradients of repeated rows with atomic adds
  whose order depends on thread timing, and DGL's neighbour sampling splits its seeds between
  per-thread generators. Rounding then differs from run to run, and over many epochs of
  training with early stopping that moves the best epoch and the test metrics.
- ``train.deterministic`` (:func:`reproducible`) therefore trains with one thread unless
  ``train.threads`` says otherwise and switches torch to its deterministic algorithms
  (a sorted accumulation for that backward); runs with the same seed, settings and thread
  count then give identical weights and metrics (tests/unit/test_determinism.py).
"""
from __future__ import annotations

import os
import random
from collections.abc import Iterator
from contextlib import contextmanager

import dgl
import numpy as np
import torch

from mllmrec.config import TrainSettings


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
    """Seed Python's, numpy's, torch's (CPU and CUDA) and DGL's global generators."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    dgl.seed(seed)


def run_threads(ts: TrainSettings) -> int | None:
    """The CPU threads of a run: ``train.threads``, else 1 when ``train.deterministic``, else
    None (the libraries' defaults)."""
    if ts.threads is not None:
        return ts.threads
    return 1 if ts.deterministic else None


@contextmanager
def reproducible(ts: TrainSettings) -> Iterator[None]:
    """The run's threads (:func:`run_threads`) and, with ``train.deterministic``, torch's
    deterministic algorithms inside the block (the previous mode is restored after). cuBLAS
    needs ``CUBLAS_WORKSPACE_CONFIG`` for that on a GPU: it is set unless already set."""
    with cpu_threads(run_threads(ts)):
        if not ts.deterministic:
            yield
            return
        before = torch.are_deterministic_algorithms_enabled()
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(True)
        try:
            yield
        finally:
            torch.use_deterministic_algorithms(before)
