"""Latency of the Neo4j Browser queries of ``cypher/explore/`` on one dataset.

Each query runs ``runs`` times with its defaults, a different sampled user (and item, where it
takes one) each time, the result fully read by the driver (graph views as Browser's graph view
reads them: every node and relationship). Users are drawn from the serving run with a seeded
generator; the item of ``why_recommended`` / ``recommendation_path`` is the user's top
recommendation (found before timing), the item of the item queries a sampled item. A reference
round trip (one user looked up by key) is timed the same way, so each row also gives its
median as a multiple of the reference: comparable across machines and loads.

The ``paper-scale`` section runs it on its catalogue after training.
"""
from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

import numpy as np

from bench import queries
from mllmrec.db import Store
from mllmrec.errors import MllmrecError
from mllmrec.ops.explore import ExploreQuery, list_queries, run_explore, run_graph

REFERENCE = "reference: user by key"


def _timed(call: Callable[[int], Any], runs: int) -> list[float]:
    """Milliseconds of ``call(n)`` for n = 0 .. runs-1."""
    out = []
    for n in range(runs):
        start = time.perf_counter()
        call(n)
        out.append((time.perf_counter() - start) * 1000)
    return out


def measure_explore(store: Store, dataset: str, runs: int = 50, seed: int = 0,
                    names: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """Rows ``{query, median_ms, max_ms, runs, x_reference}`` for the reference round trip and
    every explore query (or those in ``names``), each over ``runs`` calls on sampled users and
    items of ``dataset``'s serving run. Raises MllmrecError when there is no serving run."""
    sample = queries.run(store, "explore_sample", dataset=dataset)
    if not sample or not sample[0]["users"] or not sample[0]["items"]:
        raise MllmrecError(f"dataset '{dataset}' has no serving run to sample users from")
    rng = np.random.default_rng(seed)
    users = [str(u) for u in rng.choice(sample[0]["users"], size=runs)]
    items = [str(i) for i in rng.choice(sample[0]["items"], size=runs)]
    top = [next(r["item"] for r in run_explore(store, "user_recommendations", dataset,
                                               {"user": u, "k": "1"}) if r["kind"] == "recommendation")
           for u in users]
    reference = _timed(lambda n: queries.run(store, "explore_reference", dataset=dataset,
                                             user=users[n]), runs)
    ref_ms = statistics.median(reference)
    rows = [_row(REFERENCE, reference, ref_ms)]
    for q in list_queries():
        if names is not None and q.name not in names:
            continue
        given = {"user": users, "item": top if "user" in q.defaults else items}
        args = [{k: v[n] for k, v in given.items() if k in q.defaults} for n in range(runs)]
        rows.append(_row(q.name, _timed(partial(_run, store, q, dataset, args), runs), ref_ms))
    return rows


def _run(store: Store, q: ExploreQuery, dataset: str, args: list[dict[str, str]], n: int) -> None:
    """One call of ``q`` with the n-th parameters, read as Browser reads it."""
    (run_graph if q.graph_view else run_explore)(store, q.name, dataset, args[n])


def _row(name: str, times: list[float], reference_ms: float) -> dict[str, Any]:
    median = statistics.median(times)
    return {"query": name, "median_ms": round(median, 2), "max_ms": round(max(times), 2),
            "runs": len(times), "x_reference": round(median / reference_ms, 1)}
