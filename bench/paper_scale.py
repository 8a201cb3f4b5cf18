"""Section ``paper-scale`` (``python -m bench paper-scale --profile sports``): an
Amazon-Sports-sized catalogue through every stage, each timed next to a reference measured in
the same run (issue 10).

The catalogue is synthetic (:mod:`bench.synthetic`: 35,598 users, 18,357 items, 296,337
interactions, at least 5 per user, split per user by the real ingest stage). No encoder runs:
the generator's topic-structured random unit 384-d vectors are written as the item (and
user) embeddings with the embed stage's own queries, so the graph build sees real vectors
of the right size. Then: the real ``build-graph`` (co-occurrence vs scipy, edges compared;
approximate semantic kNN vs numpy exact on a sample, recall), the pull
(``load_train_data``), one training run of MLLMRec capped at one epoch (epoch, evaluation,
write-back), the training-loop references of ``bench/train_speed.py``, the explore queries
of ``bench/explore.py``, and the serving latency of ``serve.recommend`` and of the Browser query
``explore/user_recommendations`` (p50/p95 over 200 users on a warm connection).

Last, inductive serving (issue 19, Speed): the profile's new items and new users
(:func:`bench.synthetic.make_arrivals`, same topic structure) go in through the real
incremental ingest, get synthetic text vectors (again no encoder), and the real ``refresh``
(the function ``mllmrec refresh`` calls) serves them with the training run's weights; then
``serve.recommend`` latency for the refreshed users. The bench checks that refresh served
exactly the new items and users, and that they are marked "new: from text".

Every row carries its target from the issue's "Done means" and whether this run met it.
"""
from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from bench import queries
from bench.common import load_average, measure
from bench.context import Context
from bench.explore import measure_explore
from bench.loading import (
    ingest,
    ingest_arrivals,
    store_arrival_embeddings,
    store_synthetic_embeddings,
)
from bench.options import PROFILES
from bench.synthetic import Synthetic, make_arrivals, make_synthetic
from bench.train_runs import run_timings, train
from bench.train_speed import measure_training_speed
from loaders.canonical import Catalogue
from mllmrec.config import Settings
from mllmrec.dataset import drop_dataset
from mllmrec.db import Store
from mllmrec.train.data import TrainData

log = logging.getLogger(__name__)
RECALL_SAMPLE = 2_000  # source items whose approximate kNN is compared with numpy exact
LATENCY_USERS = 200
BROWSER_BUDGET_S = 120.0  # the Browser query stops early (fewer users) past this many seconds


def section(ctx: Context) -> None:
    """The ``--profile`` catalogue through every stage."""
    log.info("== paper scale, profile %s", ctx.options.profile)
    ctx.save("paper-scale", run_scale(ctx.store, ctx.settings, ctx.options.profile,
                                       ctx.options.seed))


# --------------------------------------------------------------------------- table logic


def row(stage: str, seconds: float | None, reference_seconds: float | None = None,
        reference: str = "", max_seconds: float | None = None, max_ratio: float | None = None,
        conditions: list[tuple[str, bool]] | None = None, note: str = "") -> dict[str, Any]:
    """One line of the scale table: ``ratio`` = seconds / reference_seconds; ``ok`` says
    whether the row met its targets (None when it has none)."""
    r = ratio(seconds, reference_seconds)
    checks = list(conditions or [])
    if max_seconds is not None:
        checks.append((f"<= {max_seconds:g} s", seconds is not None and seconds <= max_seconds))
    if max_ratio is not None:
        checks.append((f"ratio <= {max_ratio:g}", r is not None and r <= max_ratio))
    return {"stage": stage, "seconds": seconds, "reference_seconds": reference_seconds,
            "reference": reference, "ratio": r, "target": "; ".join(c for c, _ in checks),
            "ok": all(ok for _, ok in checks) if checks else None, "note": note}


def ratio(seconds: float | None, reference_seconds: float | None) -> float | None:
    """seconds / reference_seconds, None when either is missing or the reference is 0."""
    if seconds is None or not reference_seconds:
        return None
    return seconds / reference_seconds


def percentiles(samples: list[float]) -> dict[str, float]:
    """p50 / p95 / max of latency samples (seconds), linear interpolation as numpy's."""
    a = np.asarray(samples, dtype=float)
    return {"p50": float(np.percentile(a, 50)), "p95": float(np.percentile(a, 95)),
            "max": float(a.max()), "n": len(a)}


def table_rows(rows: list[dict[str, Any]]) -> list[list[Any]]:
    """Cells of the report table: stage, seconds, reference seconds, ratio, target, met."""
    verdict = {True: "yes", False: "**NO**", None: "-"}
    return [[r["stage"], _num(r["seconds"]), _num(r["reference_seconds"]),
             "-" if r["ratio"] is None else f"{r['ratio']:.2f}",
             r["target"] or "-", verdict[r["ok"]],
             "; ".join(x for x in (r["reference"], r["note"]) if x) or "-"] for r in rows]


def _num(x: float | None) -> str:
    if x is None:
        return "-"
    return f"{x:.4f}" if x < 0.1 else f"{x:.2f}"


# --------------------------------------------------------------------------- the run


def run_scale(store: Store, base: Settings, profile: str = "sports", seed: int = 2025) -> dict[str, Any]:
    """Every stage on the profile's synthetic catalogue; returns the report section
    (rows, counts, load averages). The dataset is dropped at the end."""
    spec = PROFILES[profile]
    settings = base.with_overrides({
        "dataset": f"bench-scale-{profile}", "ingest.seed": seed, "train.seed": seed,
        "train.epochs": 1, **{k: v for k, v in spec.items() if k.startswith("graph.")}})
    out: dict[str, Any] = {"profile": profile, "seed": seed, "load_average_start": load_average(),
                           "rows": [], "counts": {}}
    rows, counts = out["rows"], out["counts"]
    drop_dataset(store, settings.dataset)
    try:
        with measure() as m:
            syn = make_synthetic(spec["interactions"], seed=seed)
        log.info("generated %s catalogue in %.1fs", profile, m.seconds)
        with measure() as m:
            prepared, rep = ingest(store, settings, syn.catalogue, {"format": "synthetic"})
        train_n = int((prepared.interactions["split"] == 0).sum())
        counts.update(users=rep.users, items=rep.items, interactions=rep.interactions,
                      train_interactions=train_n)
        rows.append(row("ingest (prepare + write)", m.seconds,
                        note=f"{rep.interactions / m.seconds:,.0f} interactions/s; "
                             f"{rep.users:,} users, {rep.items:,} items, {rep.interactions:,} "
                             f"interactions ({train_n:,} train)"))
        with measure() as m:
            store_synthetic_embeddings(store, settings.dataset, syn, prepared)
        rows.append(row("embeddings: synthetic random unit vectors, NO encoder", m.seconds,
                        note="written with the embed stage's queries; stands in for `embed`"))
        rows += graph_rows(store, settings, syn, prepared)
        data, pull_row = pull(store, settings.dataset)
        rows.append(pull_row)
        rows += trainer_rows(store, settings)
        rows += training_speed_rows(data, settings)
        del data
        rows += explore_rows(store, settings.dataset)
        rows += latency_rows(store, settings.dataset, seed)
        rows += refresh_rows(store, settings, syn, spec["arrivals"], seed, counts)
    finally:
        drop_dataset(store, settings.dataset)
    out["load_average_end"] = load_average()
    return out


def graph_rows(store: Store, settings: Settings, syn: Synthetic,
               prepared: Catalogue) -> list[dict[str, Any]]:
    """The real graph build (kNN mode chosen by catalogue size) and its two references."""
    from mllmrec.graph.build import build_graph
    from tests.e2e.graph_reference import cooccurrence_edges, semantic_edges

    gs = settings.graph
    built = build_graph(store, settings)
    t, c = built.timings, built.counts
    stored = store.run("graph/build_edges", dataset=settings.dataset, build=built.build_id)
    got = {kind: {(r["source"], r["target"]): r["weight"] for r in stored if r["type"] == kind}
           for kind in ("CO_OCCURS", "SIMILAR")}

    train = prepared.interactions[prepared.interactions["split"] == 0]
    with measure() as m_co:
        want_co = cooccurrence_edges(train["user_id"].to_numpy(str), train["item_id"].to_numpy(str),
                                     syn.item_ids, gs.knn_jac)
    co_same = set(got["CO_OCCURS"]) == set(want_co) and all(
        abs(got["CO_OCCURS"][k] - w) <= 1e-6 for k, w in want_co.items())

    sample = random.Random(0).sample(syn.item_ids, min(RECALL_SAMPLE, len(syn.item_ids)))
    with measure() as m_sem:
        want_sim, _ = semantic_edges(syn.item_ids, syn.item_embeddings, gs.knn_k, gs.pure,
                                     sources=sample)
    share = len(syn.item_ids) / len(sample)
    sampled = set(sample)
    mine = {e for e in got["SIMILAR"] if e[0] in sampled}
    recall = len(mine & set(want_sim)) / max(len(want_sim), 1)
    approx = bool(built.params["approximate"])
    own = (f"; the build's own check: {c['approximate_recall']:.4f} on {int(c['recall_sample'])} "
           f"items in {t['recall_s']:.1f} s (not in the kNN seconds)" if "approximate_recall" in c else "")
    if "index_rebuild_s" in t:
        own += f"; vector index rebuilt first in {t['index_rebuild_s']:.1f} s (included)"
    return [
        row("co-occurrence (Cypher)", t["cooccurrence_s"], m_co.seconds,
            "scipy.sparse X^T X + top-k", max_seconds=30,
            conditions=[("edges identical to scipy", co_same)],
            note=f"{int(c['co_occurs_edges']):,} edges, identical to scipy: {co_same}"),
        row(f"semantic kNN, {'approximate (vector index)' if approx else 'EXACT'}",
            t["semantic_s"], m_sem.seconds * share,
            f"numpy exact float64 blockwise on {len(sample):,} sources x{share:.1f}",
            max_seconds=40, conditions=[("recall >= 0.99", recall >= 0.99),
                                        ("approximate mode chosen", approx)],
            note=f"{int(c['similar_edges']):,} edges; recall vs numpy exact on {len(sample):,} "
                 f"sampled sources {recall:.4f}{own}"),
    ]


def pull(store: Store, dataset: str) -> tuple[TrainData, dict[str, Any]]:
    """The trainer's pull of everything MLLMRec needs, timed; the data is reused by the
    training-loop references."""
    from mllmrec.train.data import load_train_data

    with measure() as m:
        data = load_train_data(store, dataset)
    return data, row("pull (load_train_data: ids, splits, features, item graph)", m.seconds,
                     max_seconds=10)


def trainer_rows(store: Store, settings: Settings) -> list[dict[str, Any]]:
    """``mllmrec train`` (MLLMRec) capped at one epoch: its epoch, per-epoch evaluation and
    write-back, as the trainer itself timed them."""
    run = train(store, settings, label="scale")
    timings = run_timings(store, run["run_id"])
    return [
        row("MLLMRec: one training epoch (trainer)", run["seconds_per_epoch"]),
        row("MLLMRec: evaluation of one split (trainer, per epoch)", run["eval_seconds_per_epoch"]),
        row("MLLMRec: write-back (stage + promote vectors)", timings["writeback"]),
        row("MLLMRec: whole `train --epochs 1` run", timings["total"],
            note=f"pull {timings['load']:.1f} s, fit {timings['fit']:.1f} s"),
    ]


#: bench/train_speed.py's stage keys -> the table's labels and what each reference is.
TRAINING_ROWS = {"evaluation": "evaluation, one split (full ranking)",
                 "bpr_epoch": "BPR-MF: one training epoch",
                 "lightgcn_propagation": "LightGCN: propagation, 2 layers fwd + bwd",
                 "hybrid_batches": "Hybrid: 10 BPR batches fwd + bwd"}
TRAINING_REFERENCES = {
    "evaluation": "scores matmul + mask train items + torch.topk",
    "bpr_epoch": "minimal PyTorch BPR loop, same batches",
    "lightgcn_propagation": "torch.sparse CSR SpMM",
    "hybrid_batches": "torch.sparse ID spread + the MLPs on the batch rows"}


def training_speed_rows(data: TrainData, settings: Settings) -> list[dict[str, Any]]:
    """Evaluation, BPR-MF epoch, LightGCN propagation and hybrid batches next to their minimal PyTorch
    references, from ``bench/train_speed.py``; the target of each is ratio <= 1.5."""
    return [row(TRAINING_ROWS.get(r["stage"], r["stage"]), r["seconds"], r["reference_seconds"],
                TRAINING_REFERENCES.get(r["stage"], ""), max_ratio=1.5)
            for r in measure_training_speed(data, settings.train)]


def explore_rows(store: Store, dataset: str) -> list[dict[str, Any]]:
    """Median latency of every Browser explore query, from ``bench/explore.py``."""
    return [row(f"explore {r['query']} (median)", r["median_ms"] / 1000,
                note=f"max {r['max_ms']:.0f} ms") for r in measure_explore(store, dataset)]


def latency_rows(store: Store, dataset: str, seed: int,
                 n_users: int = LATENCY_USERS) -> list[dict[str, Any]]:
    """p50 / p95 of ``serve.recommend`` (top-10 with its "because") and of the Browser query
    ``explore/user_recommendations`` over the same sampled users, warm connection."""
    users = [r["id"] for r in queries.run(store, "served_users", dataset=dataset)]
    chosen = random.Random(seed).sample(users, min(n_users, len(users)))
    rec = recommend_latency(store, dataset, chosen)
    browser = percentiles(_timed(
        lambda u: store.run("explore/user_recommendations", dataset=dataset, user=u, k=10),
        chosen, budget_s=BROWSER_BUDGET_S))
    return [
        row("recommend p50 (serve.recommend, top-10 + because)", rec["p50"], max_seconds=0.020,
            note=f"over {rec['n']} users; max {rec['max'] * 1000:.0f} ms"),
        row("recommend p95", rec["p95"], max_seconds=0.050),
        row("Browser explore/user_recommendations p50", browser["p50"],
            note=f"over {browser['n']} users; max {browser['max'] * 1000:.0f} ms"),
        row("Browser explore/user_recommendations p95", browser["p95"]),
    ]


def recommend_latency(store: Store, dataset: str, users: list[str]) -> dict[str, float]:
    """p50 / p95 / max of ``serve.recommend`` (top-10 with its "because") over ``users``, on a
    warm connection (the first five asked once before timing)."""
    from mllmrec.serve import recommend

    for u in users[:5]:  # warm the query plans and the page cache
        recommend(store, dataset, u, 10)
    return percentiles(_timed(lambda u: recommend(store, dataset, u, 10), users))


def refresh_rows(store: Store, settings: Settings, syn: Synthetic, n_new: int, seed: int,
                 counts: dict[str, Any], n_users: int = LATENCY_USERS) -> list[dict[str, Any]]:
    """``n_new`` new items and ``n_new`` new users after training (issue 19, Speed): the
    incremental ingest, their vectors, the timed ``refresh`` (target <= 30 s, no encoder),
    and ``serve.recommend`` for refreshed users (target p95 <= 50 ms). The refresh row's
    check: the vectors it served are exactly the new items and users (read back), none left
    unserved. ``counts`` gains the arrivals' numbers."""
    from mllmrec.ops.refresh import refresh
    from mllmrec.serve import recommend_for

    dataset = settings.dataset
    arrivals = make_arrivals(syn, n_new, n_new, seed)
    with measure() as m_in:
        reports = ingest_arrivals(store, settings, arrivals)
    added = sum(len(cat.interactions) for cat in (arrivals.history, arrivals.no_history))
    with measure() as m_vec:
        store_arrival_embeddings(store, dataset, syn, arrivals)
    load = load_average()
    with measure() as m:
        rep = refresh(store, settings)
    served = queries.run(store, "inductive_served", dataset=dataset)[0]
    exact = (set(served["items"]) == set(arrivals.item_ids)
             and set(served["users"]) == set(arrivals.user_ids))
    unserved = served["items_unserved"] + served["users_unserved"]
    e = rep.edges
    counts.update(new_items=n_new, new_users=n_new, new_interactions=added,
                  refreshed_items=len(served["items"]), refreshed_users=len(served["users"]),
                  touched_items=len(e.touched))
    parts = ", ".join(f"{k} {v:.1f} s" for k, v in rep.seconds.items() if k != "total")

    users = random.Random(seed).sample(arrivals.user_ids, min(n_users, n_new))
    rec = recommend_latency(store, dataset, users)
    marked = all(recommend_for(store, dataset, u, 10).user_inductive for u in users[:5])
    return [
        row(f"new data: ingest {n_new:,} items + {n_new:,} users (incremental, 2 ingests)",
            m_in.seconds, note=f"{added:,} interactions; {len(arrivals.no_history_users):,} "
                               f"users without history (one test interaction); dataset now "
                               f"{reports[-1].items:,} items, {reports[-1].users:,} users"),
        row("new data: synthetic text vectors, NO encoder", m_vec.seconds,
            note="embed stage's queries; stands in for describe/profile + embed"),
        row(f"refresh: {n_new:,} new items + {n_new:,} new users (excl. encoder)", m.seconds,
            max_seconds=30, conditions=[
                (f"serves exactly the {n_new:,} + {n_new:,} new", exact and not unserved)],
            note=f"served {len(served['items']):,} items, {len(served['users']):,} users from "
                 f"text ({rep.items:,} / {rep.users:,} reported), {unserved} left unserved; "
                 f"{parts}; {e.new_item_edges:,} SIMILAR rows of new items, {len(e.touched):,} "
                 f"existing items gained a new neighbour ({e.edges_to_new:,} edges, "
                 f"{e.displaced:,} displaced; they keep their trained vectors); load average "
                 f"{load} before"),
        row("recommend p50, refreshed users", rec["p50"],
            note=f"over {rec['n']} new users; max {rec['max'] * 1000:.0f} ms"),
        row("recommend p95, refreshed users", rec["p95"], max_seconds=0.050,
            conditions=[("users marked new: from text", marked)]),
    ]


def _timed(fn: Callable[[str], Any], users: list[str], budget_s: float | None = None) -> list[float]:
    samples: list[float] = []
    start = time.perf_counter()
    for u in users:
        t0 = time.perf_counter()
        fn(u)
        samples.append(time.perf_counter() - t0)
        if budget_s is not None and time.perf_counter() - start > budget_s:
            log.warning("latency: stopped after %d users (budget %.0f s)", len(samples), budget_s)
            break
    return samples
