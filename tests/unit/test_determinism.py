"""Same seed, same numbers: ``train.deterministic`` (mllmrec/train/determinism.py).

With more than one CPU thread, the backward of advanced indexing adds the gradients of
repeated rows with atomic adds in thread order, and DGL's neighbour sampling splits its draws
between per-thread generators: two runs from one seed drift apart by rounding. With
``deterministic`` two runs must give bitwise equal weights and validation metrics at every
epoch, on two threads where the kernels allow it (full-graph models) and on one thread for
neighbour sampling (which the settings then require).
"""
from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from mllmrec.config import TrainSettings
from mllmrec.train.data import TrainData, normalised_item_graph
from mllmrec.train.determinism import reproducible, run_threads, seed_everything
from mllmrec.train.registry import build_model
from mllmrec.train.trainer import fit


def _data() -> TrainData:
    """600 users x 800 items, ~5% of pairs in training: batches of 2048 triples index the
    representations with many repeated rows (the parallel accumulation path)."""
    rng = np.random.default_rng(0)
    m, n = 600, 800
    taken = rng.random((m, n))
    splits = {s: sp.csr_matrix(((taken >= lo) & (taken < hi)).astype(np.float32))
              for s, (lo, hi) in enumerate([(0.0, 0.05), (0.05, 0.06), (0.06, 0.07)])}
    data = TrainData("mem", [f"u{k}" for k in range(m)], [f"i{k}" for k in range(n)], splits,
                     item_feat=torch.from_numpy(rng.standard_normal((n, 32)).astype(np.float32)),
                     user_feat=torch.from_numpy(rng.standard_normal((m, 32)).astype(np.float32)))
    data.ii_graph = normalised_item_graph(rng.integers(0, n, 4000), rng.integers(0, n, 4000),
                                          rng.random(4000), n)
    return data


def _run(ts: TrainSettings) -> tuple[list[dict[str, float]], list[float], dict[str, torch.Tensor]]:
    data = _data()
    with reproducible(ts):
        seed_everything(ts.seed)
        model = build_model(data, ts, torch.device("cpu"))
        history, _, _ = fit(model, data, ts, [10, 20], progress=False)
    return [h.valid for h in history], [h.loss for h in history], model.state_dict()


@pytest.mark.parametrize("model,extra", [
    ("lightgcn", {"threads": 2}),
    ("mllmrec", {"threads": 2, "ui_gcn": True}),
    ("mllmrec", {"threads": 2}),
    ("lightgcn", {"minibatch": True, "fanout": 3}),
])
def test_same_seed_gives_identical_weights_and_metrics(model, extra):
    ts = TrainSettings(model=model, dim=32, epochs=2, patience=5, seed=11, deterministic=True, **extra)
    (valid_a, loss_a, state_a), (valid_b, loss_b, state_b) = _run(ts), _run(ts)
    assert valid_a == valid_b and loss_a == loss_b
    assert state_a.keys() == state_b.keys()
    for name in state_a:
        assert torch.equal(state_a[name], state_b[name]), name


def test_reproducible_sets_threads_and_kernels_only_inside_the_block():
    threads, mode = torch.get_num_threads(), torch.are_deterministic_algorithms_enabled()
    ts = TrainSettings(deterministic=True)
    assert run_threads(ts) == 1 and run_threads(ts.model_copy(update={"threads": 3})) == 3
    assert run_threads(TrainSettings()) is None
    with reproducible(ts):
        assert torch.get_num_threads() == 1 and torch.are_deterministic_algorithms_enabled()
    assert torch.get_num_threads() == threads and torch.are_deterministic_algorithms_enabled() == mode


def test_deterministic_sampling_refuses_several_threads():
    with pytest.raises(ValueError, match="threads 1"):
        TrainSettings(deterministic=True, minibatch=True, threads=2)
    TrainSettings(deterministic=True, minibatch=True, threads=1)


def test_eval_every_validates_the_same_epochs_of_the_same_training():
    """``eval_every`` changes when validation runs, not what trains: the same losses, and at
    every validated epoch (multiples of 3, and the last) the metrics of an every-epoch run."""
    base = TrainSettings(model="mllmrec", dim=32, epochs=7, patience=100, seed=11, deterministic=True)
    valid_1, loss_1, state_1 = _run(base)
    valid_3, loss_3, state_3 = _run(base.model_copy(update={"eval_every": 3}))
    assert loss_3 == loss_1
    assert [e for e, v in enumerate(valid_3, 1) if v] == [3, 6, 7]
    assert all(valid_3[e - 1] == valid_1[e - 1] for e in (3, 6, 7))
    for name in state_1:
        assert torch.equal(state_1[name], state_3[name]), name


def test_early_stopping_waits_for_a_validation():
    """Patience counts epochs, but a run stops only right after a validation: with patience 1
    and validation every 4 epochs, the stop comes at epoch 8 at the earliest."""
    ts = TrainSettings(model="lightgcn", dim=32, epochs=40, patience=1, seed=11, lr=0.05,
                       eval_every=4, deterministic=True)
    valid, _, _ = _run(ts)
    assert len(valid) % 4 == 0 and len(valid) >= 8 and valid[-1]
    assert all(not v for e, v in enumerate(valid, 1) if e % 4)
