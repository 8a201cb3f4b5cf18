"""The per-stage benchmark scripts of the other issues, run through their public functions
so their numbers land in the same report: ``bench/ingest.py`` (ingest throughput against a
pandas reference), ``bench/enrich.py`` (describe with the tiny VLM, embed against direct
encoding), ``bench/graph.py`` (Cypher graph build against scipy on a Sports-shaped catalogue);
``bench/train.py`` measures what the quality section measures and is not run twice.

A script that is missing or fails gives a row saying so; the other sections still run.
"""
from __future__ import annotations

import importlib
import logging
import traceback
from collections.abc import Callable
from typing import Any

from mllmrec.config import Settings
from mllmrec.db import Graph

log = logging.getLogger(__name__)


def _ingest(graph: Graph, settings: Settings, quick: bool) -> list[dict[str, Any]]:
    from bench.ingest import run

    r = run(graph, settings.neo4j)
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


def _enrich(graph: Graph, settings: Settings, quick: bool) -> list[dict[str, Any]]:
    from bench.enrich import run

    return run(graph, settings, quick=quick)


def _graph(graph: Graph, settings: Settings, quick: bool) -> list[dict[str, Any]]:
    from bench.graph import run_graph_bench

    n = 50_000 if quick else 300_000
    return run_graph_bench(graph, settings, n_interactions=n, seed=settings.ingest.seed)


def _train(graph: Graph, settings: Settings, quick: bool) -> list[dict[str, Any]]:
    """Not trained twice: ``bench.train.run`` trains MLLMRec (--no-llm), LightGCN and BPR-MF
    on ML-100K through :func:`bench.train_runs.train` with the run's settings, exactly what
    the quality section already did, so its numbers are that table."""
    importlib.import_module("bench.train")
    return [{"name": "train ML-100K: MLLMRec --no-llm, LightGCN, BPR-MF",
             "status": "same runs as the quality section (same function, settings and seed); "
                       "not trained a second time"}]


COMPONENTS: dict[str, Callable[[Graph, Settings, bool], list[dict[str, Any]]]] = {
    "bench/ingest.py": _ingest,
    "bench/enrich.py": _enrich,
    "bench/graph.py": _graph,
    "bench/train.py": _train,
}


def run_components(graph: Graph, settings: Settings, quick: bool = False,
                   only: tuple[str, ...] | None = None) -> list[dict[str, Any]]:
    """Rows ``{"script", "name", ...numbers}`` of every component benchmark."""
    rows: list[dict[str, Any]] = []
    for script, fn in COMPONENTS.items():
        if only and script not in only:
            continue
        log.info("component benchmark %s", script)
        try:
            got = fn(graph, settings, quick)
        except ModuleNotFoundError as exc:
            rows.append({"script": script, "name": script, "status": f"not available ({exc})"})
            continue
        except Exception as exc:  # noqa: BLE001 - a failing script must not sink the report
            log.error("%s failed:\n%s", script, traceback.format_exc())
            rows.append({"script": script, "name": script,
                         "status": f"failed: {type(exc).__name__}: {exc}"[:300]})
            continue
        rows += [{"script": script, **r} for r in got]
    return rows
