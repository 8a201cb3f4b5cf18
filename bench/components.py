"""Section ``components``: the per-stage micro-benchmarks, each against a reference measured
in the same run: ``bench/ingest.py`` (ingest throughput against a pandas reference),
``bench/enrich.py`` (describe with the tiny VLM, embed against direct encoding),
``bench/graph.py`` (Cypher graph build against scipy on a Sports-shaped catalogue). Training
is measured by the ``quality`` section.

A benchmark that fails gives a row saying so; the others still run.
"""
from __future__ import annotations

import logging
import traceback
from collections.abc import Callable
from typing import Any

from bench import enrich, graph, ingest
from bench.context import Context
from mllmrec.config import Settings
from mllmrec.db import Store

log = logging.getLogger(__name__)


def _ingest(db: Store, settings: Settings, quick: bool) -> list[dict[str, Any]]:
    r = ingest.run(db, settings.neo4j)
    rows = []
    for key, label in (("first", "first ingest"), ("reingest", "re-ingest (idempotent MERGE)")):
        m = r[key]
        rows.append({"name": f"ingest ML-100K: {label}", "seconds": m["seconds"],
                     "count": m["interactions"], "unit": "interactions", "per_second": m["rate"],
                     **{k: m[k] for k in ("server_cpu_s", "rate_per_server_cpu_s") if k in m}})
    rows.append({"name": "ingest ML-100K: pandas parse+validate+split (reference)",
                 "seconds": r["reference_parse_validate_s"],
                 "ratio_first_to_reference": r["ratio_first_to_reference"],
                 "reingest_changed_counts": r["reingest_changed_counts"],
                 "load_average": r["load_average"]})
    return rows


def _enrich(db: Store, settings: Settings, quick: bool) -> list[dict[str, Any]]:
    return enrich.run(db, settings, quick=quick)


def _graph(db: Store, settings: Settings, quick: bool) -> list[dict[str, Any]]:
    n = 50_000 if quick else 300_000
    return graph.run_graph_bench(db, settings, n_interactions=n, seed=settings.ingest.seed)


COMPONENTS: dict[str, Callable[[Store, Settings, bool], list[dict[str, Any]]]] = {
    "bench/ingest.py": _ingest,
    "bench/enrich.py": _enrich,
    "bench/graph.py": _graph,
}


def section(ctx: Context) -> None:
    log.info("== components")
    ctx.save("components", run_components(ctx.store, ctx.settings, quick=ctx.options.quick))


def run_components(db: Store, settings: Settings, quick: bool = False) -> list[dict[str, Any]]:
    """Rows ``{"script", "name", ...numbers}`` of every component benchmark."""
    rows: list[dict[str, Any]] = []
    for script, fn in COMPONENTS.items():
        log.info("component benchmark %s", script)
        try:
            got = fn(db, settings, quick)
        except Exception as exc:  # noqa: BLE001 - a failing benchmark must not sink the report
            log.error("%s failed:\n%s", script, traceback.format_exc())
            rows.append({"script": script, "name": script,
                         "status": f"failed: {type(exc).__name__}: {exc}"[:300]})
            continue
        rows += [{"script": script, **r} for r in got]
    return rows
