"""Helpers the enrichment stages share: the dataset's domain, provenance parameters,
batched writes of finished work, and the batched generate-then-write loop."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from tqdm.auto import tqdm

from mllmrec.config import EnrichSettings, Settings
from mllmrec.db import Store, chunks
from mllmrec.enrich.backends import Request, make_backend
from mllmrec.enrich.report import EnrichSummary, ItemFailure
from mllmrec.errors import StageError

T = TypeVar("T")

WRITE_BATCH = 5_000


def dataset_domain(store: Store, dataset: str, settings: EnrichSettings) -> str:
    """What the items are, for prompts: enrich.domain if set, else the dataset's domain.
    Raises StageError when the dataset has not been ingested."""
    row = store.run("enrich/dataset_domain", dataset=dataset)[0]
    if not row["exists"]:
        raise StageError(f"no dataset named '{dataset}' in the database; ingest it first")
    return settings.domain or row["domain"] or "products"


def stage_params(settings: EnrichSettings, **extra: Any) -> dict[str, Any]:
    """The enrichment settings recorded with a stage run (secrets left out)."""
    return {**settings.model_dump(mode="json", exclude={"openai_api_key"}), **extra}


def write_rows(store: Store, name: str, rows: list[dict[str, Any]], **params: Any) -> int:
    """Write finished rows in transactions of WRITE_BATCH rows (no progress bar: callers
    show their own)."""
    if not rows:
        return 0
    return store.write_batches(name, rows, batch_size=WRITE_BATCH, desc=False, **params)


def generation_batch(settings: EnrichSettings) -> int:
    """Requests per generation batch: enrich.gen_batch_size, but never fewer than the
    endpoint's concurrency so the openai thread pool is kept full."""
    if settings.backend == "openai":
        return max(settings.gen_batch_size, settings.openai_concurrency)
    return settings.gen_batch_size


def generate_and_write(
    store: Store, settings: Settings, model: str, todo: Sequence[T], *, query: str,
    request: Callable[[T], Request], row: Callable[[T, str], dict[str, Any]],
    label: Callable[[T], str], summary: EnrichSummary, desc: str, unit: str,
    on_batch: Callable[[EnrichSummary], None] | None = None,
) -> None:
    """Generate with the configured backend batch by batch and write each finished batch at
    once, so a crash loses at most one batch. ``request`` builds an entity's prompt (raising
    ItemFailure when it cannot, e.g. an unreadable image), ``row`` what is written for a
    reply; failures are counted in ``summary`` under ``label`` and never stop the run."""
    es = settings.enrich
    backend = make_backend(es, model)
    try:
        with tqdm(total=len(todo), desc=desc, unit=unit) as bar:
            for batch in chunks(todo, generation_batch(es)):
                ready, requests = [], []
                for entity in batch:
                    try:
                        requests.append(request(entity))
                    except ItemFailure as failure:
                        summary.fail(label(entity), failure)
                        continue
                    ready.append(entity)
                rows = []
                for entity, reply in zip(ready, backend.generate(requests)):
                    if reply.failure is not None:
                        summary.fail(label(entity), reply.failure)
                    else:
                        rows.append(row(entity, reply.text or ""))
                write_rows(store, query, rows, dataset=settings.dataset, model=model,
                           prompt=es.prompt_version)
                summary.generated += len(rows)
                summary.written += len(rows)
                bar.update(len(batch))
                if on_batch is not None:
                    on_batch(summary)
    finally:
        backend.close()
