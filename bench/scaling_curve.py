"""Section ``scaling``: how ingest, graph build, pull, one training epoch and evaluation grow
with the data.

For each size (interactions) a synthetic Sports-shaped catalogue (:mod:`bench.synthetic`) is
ingested with the real ingest stage, given its embeddings, refined with the real graph build
stage (semantic kNN forced to approximate, the mode large catalogues use) and trained for
exactly one epoch by the real trainer, each stage timed on its own (pull, epoch and
evaluation as the trainer timed them). A line fitted to log(seconds) against
log(interactions) (``numpy.polyfit``) gives the growth exponent: 1 is linear, 2 quadratic.
"""
from __future__ import annotations

import logging
from typing import Any

import numpy as np

from bench.common import measure
from bench.context import Context
from bench.loading import ingest, store_synthetic_embeddings
from bench.synthetic import make_synthetic
from bench.train_runs import run_timings, train
from mllmrec.config import Settings
from mllmrec.dataset import drop_dataset
from mllmrec.db import Store

log = logging.getLogger(__name__)

STAGES = ("ingest", "cooccurrence", "semantic", "pull", "epoch", "evaluation")


def section(ctx: Context) -> None:
    """One row per ``--sizes`` value and the fitted slopes."""
    log.info("== scaling")
    ctx.save("scaling", run_scaling(ctx.store, ctx.settings, ctx.options.sizes, ctx.options.seed))


def fit_slope(x: list[float], y: list[float]) -> float | None:
    """Slope of the least-squares line through (log10 x, log10 y); None with fewer than two
    distinct sizes."""
    if len(set(x)) < 2:
        return None
    return float(np.polyfit(np.log10(np.asarray(x, float)), np.log10(np.asarray(y, float)), 1)[0])


def scale_one(store: Store, base: Settings, n: int, seed: int, epochs: int = 1) -> dict[str, Any]:
    """Ingest, build the graph and train ``epochs`` epochs on an ``n``-interaction synthetic
    catalogue in a dataset of its own (dropped afterwards). Returns the row of the table,
    with the run's validation and test metrics (for the determinism check)."""
    settings = base.with_overrides({"dataset": f"bench-scale-{n}", "ingest.seed": seed,
                                    "train.seed": seed, "train.epochs": epochs,
                                    "graph.approximate": True})
    drop_dataset(store, settings.dataset)
    syn = make_synthetic(n, seed=seed)
    try:
        with measure() as m_ingest:
            prepared, rep = ingest(store, settings, syn.catalogue, {"format": "synthetic", "n": n})
        with measure() as m_vec:
            store_synthetic_embeddings(store, settings.dataset, syn, prepared)
        from mllmrec.graph.build import build_graph

        with measure() as m_graph:
            built = build_graph(store, settings)
        run = train(store, settings, label=f"scale-{n}")
        timings = run_timings(store, run["run_id"])
    finally:
        drop_dataset(store, settings.dataset)
    row = {
        "interactions": rep.interactions, "users": rep.users, "items": rep.items,
        "ingest_seconds": m_ingest.seconds, "ingest_peak_rss_mb": m_ingest.peak_rss_mb,
        "vectors_seconds": m_vec.seconds,
        "graph_seconds": m_graph.seconds, "graph_peak_rss_mb": m_graph.peak_rss_mb,
        "cooccurrence_seconds": built.timings["cooccurrence_s"],
        "semantic_seconds": built.timings["semantic_s"],  # approximate (vector index)
        "co_occurs_edges": int(built.counts["co_occurs_edges"]),
        "similar_edges": int(built.counts["similar_edges"]),
        # The epoch alone (BPR steps), without pulling data, evaluating or writing back.
        "epoch_seconds": run["seconds_per_epoch"],
        "pull_seconds": timings["load"],  # the trainer's pull (load_train_data)
        "evaluation_seconds": run["eval_seconds_per_epoch"],  # full ranking, one split
        "writeback_seconds": timings["writeback"],
        "train_run_seconds": run["seconds"], "train_peak_rss_mb": run.get("peak_rss_mb"),
        "valid": run["valid"], "test": run["test"],
    }
    log.info("scaling %s: %s", n, {k: round(v, 2) if isinstance(v, float) else v
                                   for k, v in row.items()})
    return row


def run_scaling(store: Store, base: Settings, sizes: tuple[int, ...], seed: int) -> dict[str, Any]:
    """The scaling section of the report: one row per size and the fitted slopes."""
    rows: list[dict[str, Any]] = []
    failures: list[dict[str, Any]] = []
    for n in sizes:
        try:
            rows.append(scale_one(store, base, n, seed))
        except Exception as exc:  # noqa: BLE001 - keep the sizes that worked
            log.exception("scaling at %s interactions failed", n)
            failures.append({"interactions": n, "error": f"{type(exc).__name__}: {exc}"[:300]})
    x = [r["interactions"] for r in rows]
    slopes = {st: fit_slope(x, [r[f"{st}_seconds"] for r in rows]) for st in STAGES}
    return {"seed": seed, "sizes": list(sizes), "rows": rows, "slopes": slopes,
            "failures": failures,
            "note": "'semantic' is the approximate (vector index) kNN; 'epoch' is one BPR "
                    "training epoch of MLLMRec (batches of 2048, one negative each); 'pull' and "
                    "'evaluation' (full ranking of the validation split) are the trainer's own "
                    "timings of the same run; the JSON also lists write-back and the whole run."}
