"""Training runs of the real trainer, measured and reduced to the numbers the report shows:
metrics per split at the best validation epoch, epochs, seconds, peak memory, the per-epoch
curve, and each test user's Recall/NDCG@20 (for paired tests between models).

:func:`repeat` trains the same configuration with several seeds (initialisation and BPR
sampling; the split stays fixed) and reports mean and standard deviation.
"""
from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable, Sequence
from typing import Any, Literal, TypedDict

import numpy as np

from bench import queries
from bench.common import measure
from mllmrec.config import Settings
from mllmrec.db import Store

log = logging.getLogger(__name__)

MODEL_NAMES = {"mllmrec": "MLLMRec", "hybrid": "Hybrid", "lightgcn": "LightGCN", "bpr": "BPR-MF"}
PAIRED = ("recall@20", "ndcg@20")  # per-user metrics kept for paired tests
SCORE_BLOCK = 2_048  # users scored at once by per_user_test

Metrics = dict[str, float]  # "recall@20" -> value


class Summary(TypedDict):
    """What a trainer ``RunSummary`` says about a run, as plain values."""

    run_id: str
    valid: Metrics
    test: Metrics
    best_epoch: int
    epochs: int
    seconds_per_epoch: float
    eval_seconds_per_epoch: float
    device: str
    curve: list[dict[str, float]]


class TrainResult(Summary):
    """One training run as the report sees it (:func:`train`)."""

    model: str
    label: str
    seed: int
    seconds: float
    peak_rss_mb: float | None
    per_user_test: dict[str, list[float]]


class Aggregate(TypedDict):
    """One configuration trained with several seeds (:func:`aggregate`): means, sample
    standard deviations and per-seed lists."""

    model: str
    label: str
    seeds: list[int]
    valid: Metrics
    valid_std: Metrics
    test: Metrics
    test_std: Metrics
    per_user_test: dict[str, list[float]]
    best_epoch: list[int]
    epochs: list[int]
    seconds: float
    seconds_per_epoch: float
    eval_seconds_per_epoch: float
    peak_rss_mb: float | None
    run_ids: list[str]
    curve: list[dict[str, float]]
    runs: list[dict[str, Any]]


def train(store: Store, settings: Settings, label: str | None = None,
          graph_build: str | None = None) -> TrainResult:
    """Train with ``settings`` (``settings.train.model`` picks the model) through
    :func:`mllmrec.train.job.train_model`, on ``graph_build``'s item-item graph when given
    (a tuning study's side build) else the active one; return the report's view of the run."""
    from mllmrec.train.job import train_model

    with measure() as m:
        result = train_model(store, settings, progress=sys.stderr.isatty(), graph_build=graph_build)
    if result is None:  # only a non-main rank of a distributed run gets None
        raise RuntimeError("the trainer returned no run summary")
    name = MODEL_NAMES.get(settings.train.model, settings.train.model)
    out: TrainResult = {
        **summarise(result), "model": name, "label": label or name, "seed": settings.train.seed,
        "seconds": m.seconds, "peak_rss_mb": m.peak_rss_mb,
        "per_user_test": per_user_test(store, settings.dataset, result.run_id)}
    log.info("trained %s (seed %d): %d epochs (best %s) in %.1fs, test recall@20 %.4f",
             out["label"], settings.train.seed, out["epochs"], out["best_epoch"], m.seconds,
             out["test"].get("recall@20", float("nan")))
    return out


def run_timings(store: Store, run_id: str) -> dict[str, float]:
    """Seconds per phase (load, fit, writeback, total) the trainer stored on the run."""
    return dict(json.loads(queries.run(store, "training_run_timings", run=run_id)[0]["timings"]))


def summarise(result: Any) -> Summary:
    """Metrics per split, epochs and per-epoch timings of a trainer ``RunSummary``."""
    curve = [{"epoch": h.epoch, "loss": h.loss, "train_seconds": h.train_seconds,
              "eval_seconds": h.eval_seconds,
              **{f"valid_{k}": v for k, v in h.valid.items() if k != "users"}}
             for h in result.history]
    return {"run_id": result.run_id,
            "valid": {k: v for k, v in result.metrics["valid"].items() if k != "users"},
            "test": {k: v for k, v in result.metrics["test"].items() if k != "users"},
            "best_epoch": result.best_epoch, "epochs": result.epochs,
            "seconds_per_epoch": result.seconds_per_epoch,
            "eval_seconds_per_epoch": result.eval_seconds_per_epoch,
            "device": result.device, "curve": curve}


def per_user_test(store: Store, dataset: str, run_id: str) -> dict[str, list[float]]:
    """Test Recall@20 and NDCG@20 of every user with test items (in the dataset's user
    order, the same for every model of the dataset), from the vectors the run stored in
    Neo4j: what recommendations use."""
    from mllmrec.train import writeback
    from mllmrec.train.data import load_train_data

    data = load_train_data(store, dataset, features=False, item_graph=False)
    users, items = writeback.stored_vectors(store, dataset, run_id, data.user_ids, data.item_ids)
    return per_user_scores(data, users, items)


def per_user_scores(data: Any, users: np.ndarray, items: np.ndarray) -> dict[str, list[float]]:
    """Test Recall@20 and NDCG@20 of every user of ``data`` (a TrainData with its test split)
    with test items, scored by the dot products of the given user and item vectors, training
    items masked. Scored in blocks of users (a dense users x items matrix at 1M interactions
    is 29 GB)."""
    import torch

    from mllmrec.train.data import TEST
    from mllmrec.train.metrics import top_k, user_metrics

    heldout = data.splits[TEST]
    out: dict[str, list[float]] = {m: [] for m in PAIRED}
    with_test = np.flatnonzero(np.diff(heldout.indptr) > 0)
    for start in range(0, len(with_test), SCORE_BLOCK):
        rows = with_test[start:start + SCORE_BLOCK]
        scores = torch.from_numpy(users[rows] @ items.T)
        seen = data.known[rows].tocoo()  # training (and cold users' given) items
        scores[torch.as_tensor(seen.row), torch.as_tensor(seen.col)] = -torch.inf
        top = top_k(scores, 20).numpy()
        truth = heldout[rows]
        hits = np.take_along_axis(truth.toarray() > 0, top, axis=1)
        values = user_metrics(hits, np.diff(truth.indptr), [20])
        for m in PAIRED:
            out[m] += [round(float(v), 6) for v in values[m]]
    return out


def repeat(store: Store, settings: Settings, seeds: Sequence[int], label: str | None = None,
           first: TrainResult | None = None,
           on_run: Callable[[Aggregate], None] | None = None,
           graph_build: str | None = None) -> Aggregate:
    """Train ``settings`` once per seed (``first``: an existing run with ``seeds[0]``, reused)
    and aggregate: mean and std (ddof=1) of every valid/test metric, per-user test metrics
    averaged over seeds, epochs per seed, the first seed's curve. ``on_run`` sees the
    aggregate of the seeds finished so far after each run (its ``seeds`` say which)."""
    runs: list[TrainResult] = [first] if first is not None else []
    for seed in seeds[len(runs):]:
        runs.append(train(store, settings.with_overrides({"train.seed": seed}), label=label,
                          graph_build=graph_build))
        if on_run and len(runs) < len(seeds):
            on_run(aggregate(runs))
    return aggregate(runs)


def aggregate(runs: Sequence[TrainResult]) -> Aggregate:
    """Mean/std over seeds of the runs of one configuration (see :func:`repeat`)."""
    def stats(split: Literal["valid", "test"]) -> tuple[Metrics, Metrics]:
        keys = runs[0][split].keys()
        values = {k: np.array([r[split][k] for r in runs], dtype=np.float64) for k in keys}
        return ({k: float(v.mean()) for k, v in values.items()},
                {k: float(v.std(ddof=1)) if len(v) > 1 else 0.0 for k, v in values.items()})

    valid, valid_std = stats("valid")
    test, test_std = stats("test")
    per_user = {m: np.mean([r["per_user_test"][m] for r in runs], axis=0).round(6).tolist()
                for m in PAIRED} if all(r.get("per_user_test") for r in runs) else {}
    return {"model": runs[0]["model"], "label": runs[0]["label"],
            "seeds": [r["seed"] for r in runs], "valid": valid, "valid_std": valid_std,
            "test": test, "test_std": test_std, "per_user_test": per_user,
            "best_epoch": [r["best_epoch"] for r in runs], "epochs": [r["epochs"] for r in runs],
            "seconds": float(sum(r["seconds"] for r in runs)),
            "seconds_per_epoch": float(np.mean([r["seconds_per_epoch"] for r in runs])),
            "eval_seconds_per_epoch": float(np.mean([r["eval_seconds_per_epoch"] for r in runs])),
            "peak_rss_mb": max((r.get("peak_rss_mb") or 0.0) for r in runs) or None,
            "run_ids": [r["run_id"] for r in runs], "curve": runs[0]["curve"],
            "runs": [{k: r[k] for k in ("seed", "run_id", "valid", "test", "best_epoch", "epochs",
                                        "seconds")} for r in runs]}


def paired_test(a: Aggregate, b: Aggregate, metric: str = "recall@20") -> dict[str, Any]:
    """Wilcoxon signed-rank test (two-sided, scipy; zero differences dropped, the 'wilcox'
    rule) between two aggregated models over the same test users, on each user's ``metric``
    averaged over seeds."""
    from scipy.stats import wilcoxon

    x = np.asarray(a["per_user_test"][metric])
    y = np.asarray(b["per_user_test"][metric])
    if x.shape != y.shape or not len(x):
        raise ValueError(f"per-user {metric} of {a['label']} and {b['label']} do not pair up")
    diff = x - y
    nonzero = int(np.count_nonzero(diff))
    result = wilcoxon(x, y, zero_method="wilcox", alternative="two-sided") if nonzero else None
    return {"test": "Wilcoxon signed-rank, two-sided (scipy.stats.wilcoxon, zero_method='wilcox')",
            "metric": f"per-user test {metric}, mean over seeds", "a": a["label"], "b": b["label"],
            "users": int(len(x)), "nonzero_pairs": nonzero, "mean_difference": float(diff.mean()),
            "a_better_users": int((diff > 0).sum()), "b_better_users": int((diff < 0).sum()),
            "statistic": float(result.statistic) if result else None,
            "p_value": float(result.pvalue) if result else 1.0}
