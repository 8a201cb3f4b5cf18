"""The trainer's hot loops against minimal PyTorch references measured in the same run.

Rows (``stage``, ``seconds``, ``reference_seconds``, ``ratio`` = ours / reference):

- ``evaluation``: our full-ranking :func:`mllmrec.train.metrics.evaluate` on the validation
  split (top-``max(topks)``, metrics included) vs scores matmul + train-item mask +
  ``torch.topk`` in the same user blocks, nothing else;
- ``bpr_epoch``: one epoch of our BPR-MF (:func:`mllmrec.train.trainer.train_epoch`, sampling
  included) vs a minimal PyTorch BPR loop (two parameter tensors, Adam) over the same batches,
  drawn beforehand;
- ``lightgcn_propagation``: our LightGCN ``all_repr`` (2 layers, DGL) forward + backward vs
  ``torch.sparse`` CSR SpMM on the same normalised adjacency;
- ``hybrid_batches``: BPR forward + backward of the hybrid on ``HYBRID_BATCHES`` batches vs its
  two parts done minimally: the ``torch.sparse`` LightGCN spread of the masked ID table plus the
  two MLPs on the batch's rows (what a hybrid batch cannot do with less).

Each figure is the best of ``repeats`` alternating runs (ours, reference, ours, ...), so both
sides see the same machine load; wall seconds and this process's CPU seconds are both kept
(``ratio`` / ``cpu_ratio``: on shared cores the CPU figure is the steadier one). Both run with the trainer's
thread setting (1 thread by
default here: measured faster on an oversubscribed 2-core machine).

:func:`measure_training_speed` takes any :class:`~mllmrec.train.data.TrainData` (the
``paper-scale`` section gives it what ``load_train_data`` pulled from Neo4j). Section
``train-speed`` runs it on an in-memory synthetic Sports-shaped catalogue (:mod:`bench.synthetic`,
split by the real ingest ``prepare``; ``--quick``: 30,000 interactions), no Neo4j needed.
"""
from __future__ import annotations

import logging
import time
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
import torch
import torch.nn.functional as F

from bench.common import load_average
from bench.context import Context
from bench.synthetic import make_synthetic, user_embeddings
from mllmrec.config import IngestSettings, TrainSettings
from mllmrec.ingest import prepare
from mllmrec.train.baselines import BPRMF, LightGCN
from mllmrec.train.bpr import BPRSampler, bpr_loss
from mllmrec.train.data import TEST, TRAIN, VALID, TrainData
from mllmrec.train.determinism import cpu_threads
from mllmrec.train.hybrid import Hybrid
from mllmrec.train.metrics import evaluate
from mllmrec.train.trainer import train_epoch

log = logging.getLogger(__name__)

SPORTS_INTERACTIONS = 296_337
QUICK_INTERACTIONS = 30_000
HYBRID_BATCHES = 10
Batches = list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]


def section(ctx: Context) -> None:
    """The four comparisons on the synthetic catalogue, with the run's trainer settings."""
    n = QUICK_INTERACTIONS if ctx.options.quick else SPORTS_INTERACTIONS
    t0 = time.perf_counter()
    data = synthetic_train_data(n, ctx.options.seed)
    log.info("== train-speed: %d users, %d items, %d train interactions (%.1f s to make)",
             data.n_users, data.n_items, data.train.nnz, time.perf_counter() - t0)
    ctx.save("train-speed", {"interactions": n, "seed": ctx.options.seed,
                              "rows": measure_training_speed(data, ctx.settings.train)})


# --------------------------------------------------------------------------- references


def reference_evaluation(user_repr: torch.Tensor, item_repr: torch.Tensor, train: sp.csr_matrix,
                         heldout: sp.csr_matrix, k: int, batch_size: int) -> torch.Tensor:
    """Top-``k`` items of every user with held-out items: scores matmul, training items set
    to -inf, ``torch.topk``. No tie rule, no metrics: the floor any evaluation pays."""
    users = np.flatnonzero(np.diff(heldout.indptr) > 0)
    item_t = item_repr.t()
    last = torch.empty(0)
    with torch.no_grad():
        for start in range(0, len(users), batch_size):
            batch = users[start:start + batch_size]
            scores = user_repr[torch.from_numpy(batch)] @ item_t
            seen = train[batch].tocoo()
            scores[torch.from_numpy(seen.row.astype(np.int64)),
                   torch.from_numpy(seen.col.astype(np.int64))] = -torch.inf
            last = torch.topk(scores, min(k, scores.shape[1]), dim=1).indices
    return last


def reference_bpr_epoch(user_w: torch.Tensor, item_w: torch.Tensor, batches: Batches,
                        lr: float) -> None:
    """A minimal PyTorch BPR-MF epoch over prepared batches: two leaf tensors, Adam."""
    opt = torch.optim.Adam([user_w, item_w], lr=lr)
    for u, p, q in batches:
        eu = user_w[u]
        loss = -F.logsigmoid((eu * item_w[p]).sum(-1) - (eu * item_w[q]).sum(-1)).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()


def normalised_adjacency_csr(train: sp.csr_matrix) -> torch.Tensor:
    """LightGCN's D^-1/2 [[0, R], [R^T, 0]] D^-1/2 as a ``torch.sparse`` CSR tensor, built
    with scipy (independently of the DGL graph the model uses)."""
    r = sp.csr_matrix(train, dtype=np.float64)
    adj = sp.bmat([[None, r], [r.T, None]], format="csr")
    deg = np.asarray(adj.sum(axis=1)).ravel()
    inv = np.where(deg > 0, 1 / np.sqrt(np.where(deg > 0, deg, 1)), 0.0)
    a = sp.csr_matrix(sp.diags(inv) @ adj @ sp.diags(inv), dtype=np.float32)
    with warnings.catch_warnings():  # "sparse CSR support is in beta"
        warnings.simplefilter("ignore", UserWarning)
        return torch.sparse_csr_tensor(torch.from_numpy(a.indptr.astype(np.int64)),
                                       torch.from_numpy(a.indices.astype(np.int64)),
                                       torch.from_numpy(a.data), size=a.shape)


def reference_lightgcn(adj: torch.Tensor, x: torch.Tensor, n_layers: int) -> torch.Tensor:
    """Mean over layers 0..L of ``adj^l x`` with ``torch.sparse`` SpMM (autograd through x)."""
    out, h = x, x
    for _ in range(n_layers):
        h = adj @ h
        out = out + h
    return out / (n_layers + 1)


# --------------------------------------------------------------------------- measuring


def reference_hybrid_batch(model: Hybrid, adj: torch.Tensor, users: torch.Tensor,
                           pos: torch.Tensor, neg: torch.Tensor
                           ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """A hybrid BPR batch from its parts, with the model's weights: LightGCN's mean over
    layers of the masked ID table (``torch.sparse``), plus each row's text tower."""
    ids = torch.cat([model.user_trained * model.user_id_emb.weight,
                     model.item_trained * model.item_id_emb.weight])
    z = reference_lightgcn(adj, ids, model.n_ui_layers)
    z_u, z_i = z[: model.n_users], z[model.n_users:]
    assert model.user_input is not None  # the hybrid always has preference texts

    def items(i: torch.Tensor) -> torch.Tensor:
        return model.item_mlp(model.item_input[i]) + z_i[i]

    return model.user_mlp(model.user_input[users]) + z_u[users], items(pos), items(neg)


def _best_of(repeats: int, ours: Callable[[], Any], reference: Callable[[], Any]
             ) -> dict[str, float]:
    """Best wall time and best CPU time of each callable over ``repeats`` alternating runs.
    CPU time (this process) is the steadier figure when other jobs share the cores."""
    wall = [float("inf")] * 2
    cpu = [float("inf")] * 2
    for _ in range(repeats):
        for k, fn in enumerate((ours, reference)):
            w0, c0 = time.perf_counter(), time.process_time()
            fn()
            wall[k] = min(wall[k], time.perf_counter() - w0)
            cpu[k] = min(cpu[k], time.process_time() - c0)
    return {"seconds": wall[0], "reference_seconds": wall[1],
            "cpu_seconds": cpu[0], "reference_cpu_seconds": cpu[1]}


def _row(stage: str, times: dict[str, float], **extra: Any) -> dict[str, Any]:
    def ratio(a: float, b: float) -> float:
        return a / b if b > 0 else float("nan")

    return {"stage": stage, **times,
            "ratio": ratio(times["seconds"], times["reference_seconds"]),
            "cpu_ratio": ratio(times["cpu_seconds"], times["reference_cpu_seconds"]), **extra}


def measure_training_speed(data: TrainData, settings: TrainSettings | None = None,
                           repeats: int = 3) -> list[dict[str, Any]]:
    """Time evaluation, one BPR-MF epoch, LightGCN propagation and hybrid batches (ours vs
    reference) on ``data`` with the trainer settings ``settings`` (defaults when None;
    ``threads`` None means 1 here). Returns rows ``{stage, seconds, reference_seconds, ratio, ...}``."""
    ts = settings or TrainSettings()
    torch.manual_seed(ts.seed)
    rows = []
    with cpu_threads(ts.threads or 1):
        bpr = BPRMF(data.n_users, data.n_items, ts.dim)
        users, items = (t.detach() for t in bpr.all_repr())
        ks = sorted(set(ts.topks) | {20})
        heldout = data.splits[VALID]
        times = _best_of(
            repeats,
            lambda: evaluate(users, items, data.train, heldout, ks, ts.eval_batch_size),
            lambda: reference_evaluation(users, items, data.train, heldout, max(ks),
                                         ts.eval_batch_size))
        rows.append(_row("evaluation", times, users=int((np.diff(heldout.indptr) > 0).sum())))

        sampler = BPRSampler(data.train, ts.seed)
        batches = list(BPRSampler(data.train, ts.seed).epoch(ts.batch_size))
        opt = torch.optim.Adam(bpr.parameters(), lr=ts.lr)
        user_w = users.clone().requires_grad_()
        item_w = items.clone().requires_grad_()
        times = _best_of(
            repeats,
            lambda: train_epoch(bpr, sampler, opt, ts.batch_size, torch.device("cpu")),
            lambda: reference_bpr_epoch(user_w, item_w, batches, ts.lr))
        rows.append(_row("bpr_epoch", times, batches=len(batches)))

        gcn = LightGCN(data.n_users, data.n_items, data.ui_graph, ts.dim, ts.n_ui_layers)
        adj = normalised_adjacency_csr(data.train)
        x = torch.cat([gcn.user_emb.weight, gcn.item_emb.weight]).detach().requires_grad_()

        def ours_gcn() -> None:
            u, i = gcn.all_repr()
            (u.sum() + i.sum()).backward()

        def ref_gcn() -> None:
            reference_lightgcn(adj, x, ts.n_ui_layers).sum().backward()

        times = _best_of(repeats, ours_gcn, ref_gcn)
        rows.append(_row("lightgcn_propagation", times, layers=ts.n_ui_layers,
                         edges=int(data.ui_graph.num_edges())))

        hybrid = Hybrid.from_data(data, ts)
        few = batches[:HYBRID_BATCHES]

        def bpr_steps(batch: Callable[..., tuple[torch.Tensor, torch.Tensor, torch.Tensor]]
                      ) -> Callable[[], None]:
            def run() -> None:
                for u, p, q in few:
                    bpr_loss(*batch(u, p, q)).backward()
            return run

        times = _best_of(repeats, bpr_steps(hybrid),
                         bpr_steps(lambda u, p, q: reference_hybrid_batch(hybrid, adj, u, p, q)))
        rows.append(_row("hybrid_batches", times, batches=len(few)))
    load = load_average()
    for row in rows:
        row["load_average"] = load
    return rows


# --------------------------------------------------------------------------- synthetic data


def synthetic_train_data(n_interactions: int = SPORTS_INTERACTIONS, seed: int = 2025) -> TrainData:
    """A Sports-shaped synthetic catalogue split by the real ingest ``prepare`` and held in
    memory as :class:`TrainData` (text features from the generator; no item-item graph)."""
    syn = make_synthetic(n_interactions, seed=seed)
    prepared = prepare(syn.catalogue, IngestSettings(seed=seed))
    inter = prepared.interactions
    user_index = pd.Index(sorted(prepared.users["user_id"]))
    item_index = pd.Index(syn.item_ids)
    u = user_index.get_indexer(inter["user_id"])
    i = item_index.get_indexer(inter["item_id"])
    split = inter["split"].to_numpy(dtype=np.int64)
    shape = (len(user_index), len(item_index))
    splits = {s: sp.csr_matrix((np.ones(int((split == s).sum()), np.float32),
                                (u[split == s], i[split == s])), shape=shape)
              for s in (TRAIN, VALID, TEST)}
    feat_users, feat = user_embeddings(inter, syn.item_ids, syn.item_embeddings)
    user_feat = np.zeros((len(user_index), feat.shape[1]), np.float32)
    user_feat[user_index.get_indexer(feat_users)] = feat
    return TrainData(f"synthetic-{n_interactions}", user_index.tolist(), item_index.tolist(),
                     splits, item_feat=torch.from_numpy(syn.item_embeddings),
                     user_feat=torch.from_numpy(user_feat))
