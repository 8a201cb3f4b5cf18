"""Helpers the enrichment stages share: the dataset's domain, provenance parameters, and
batched writes of finished work."""
from __future__ import annotations

from typing import Any

from mllmrec.config import EnrichSettings
from mllmrec.db import Graph
from mllmrec.errors import StageError

WRITE_BATCH = 5_000


def dataset_domain(graph: Graph, dataset: str, settings: EnrichSettings) -> str:
    """What the items are, for prompts: enrich.domain if set, else the dataset's domain.
    Raises StageError when the dataset has not been ingested."""
    row = graph.run("enrich/dataset_domain", dataset=dataset)[0]
    if not row["exists"]:
        raise StageError(f"no dataset named '{dataset}' in the database; ingest it first")
    return settings.domain or row["domain"] or "products"


def stage_params(settings: EnrichSettings, **extra: Any) -> dict[str, Any]:
    """The enrichment settings recorded with a stage run (secrets left out)."""
    return {**settings.model_dump(mode="json", exclude={"openai_api_key"}), **extra}


def write_rows(graph: Graph, name: str, rows: list[dict[str, Any]], **params: Any) -> int:
    """Write finished rows in transactions of WRITE_BATCH rows (no progress bar: callers
    show their own)."""
    if not rows:
        return 0
    return graph.write_batches(name, rows, batch_size=WRITE_BATCH, desc=False, **params)


def generation_batch(settings: EnrichSettings) -> int:
    """Requests per generation batch: enrich.gen_batch_size, but never fewer than the
    endpoint's concurrency so the openai thread pool is kept full."""
    if settings.backend == "openai":
        return max(settings.gen_batch_size, settings.openai_concurrency)
    return settings.gen_batch_size
