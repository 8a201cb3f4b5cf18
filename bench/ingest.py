"""Ingest throughput on MovieLens 100K, for the ``components`` section.

Ingests ML-100K into a throwaway dataset (``bench-ingest-<hex>``, dropped afterwards) and
measures:

- interactions/s of the first ingest (schema check, users, items, interactions, counts);
- interactions/s of a re-ingest of the same files (the idempotent MERGE path), with a check
  that no count changed;
- interactions/s of a first ingest into a second new dataset on the now warm server (a
  freshly started JVM is several times slower until its JIT has compiled the hot paths);
- the reference measured in the same run: the seconds pandas needs to parse, validate and
  split the same files (``load_movielens`` + ``prepare``), and the ratio ingest/reference;
- when the server is the local one this script started, the server's CPU seconds, so a
  number taken on a busy shared machine can be told apart from a slow ingest.
"""
from __future__ import annotations

import os
import time
import uuid
from pathlib import Path
from typing import Any

from bench.common import DATA, server_cpu_seconds
from loaders.movielens import load_movielens
from mllmrec.config import IngestSettings, Neo4jSettings
from mllmrec.dataset import dataset_stats, drop_dataset
from mllmrec.db import Store
from mllmrec.ingest import prepare, write

DEFAULT_DATA = DATA / "ml-100k"


def _timed_write(store: Store, neo4j: Neo4jSettings, dataset: str, cat: Any,
                 settings: IngestSettings) -> dict[str, Any]:
    cpu0 = server_cpu_seconds(neo4j)
    t0 = time.perf_counter()
    report = write(store, dataset, cat, settings, {"format": "movielens", "bench": True})
    seconds = time.perf_counter() - t0
    cpu1 = server_cpu_seconds(neo4j)
    out = {"seconds": round(seconds, 3), "interactions": report.interactions,
           "rate": round(report.interactions / seconds)}
    if cpu0 is not None and cpu1 is not None:
        out["server_cpu_s"] = round(cpu1 - cpu0, 2)
        out["rate_per_server_cpu_s"] = round(report.interactions / max(cpu1 - cpu0, 1e-9))
    return out


def run(store: Store, neo4j: Neo4jSettings, data: Path = DEFAULT_DATA,
        batch_size: int = IngestSettings().batch_size) -> dict[str, Any]:
    """Measure reference, first ingest and re-ingest; drop the dataset afterwards."""
    settings = IngestSettings(batch_size=batch_size)
    t0 = time.perf_counter()
    cat = prepare(load_movielens(data), settings)
    reference = time.perf_counter() - t0
    first_ds, second_ds = (f"bench-ingest-{uuid.uuid4().hex[:8]}" for _ in range(2))
    try:
        first = _timed_write(store, neo4j, first_ds, cat, settings)
        before = dataset_stats(store, first_ds)
        again = _timed_write(store, neo4j, first_ds, cat, settings)
        after = dataset_stats(store, first_ds)
        warm = _timed_write(store, neo4j, second_ds, cat, settings)
    finally:
        drop_dataset(store, first_ds)
        drop_dataset(store, second_ds)
    return {
        "dataset": str(data), "interactions": len(cat.interactions), "batch_size": batch_size,
        "reference_parse_validate_s": round(reference, 3),
        "first": first, "reingest": again, "first_warm": warm,
        "ratio_first_to_reference": round(first["seconds"] / reference, 2),
        "ratio_warm_to_reference": round(warm["seconds"] / reference, 2),
        "reingest_changed_counts": (before.users, before.items, before.splits)
        != (after.users, after.items, after.splits),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }
