"""Stage "describe" (docs/method.md section 2): a vision-language model describes every item's
image; each item gets its fused text (metadata + image description).

Resumable: an item already described by the same model and prompt version is skipped, and
each generation batch is written as soon as it finishes, so a crash loses at most one batch.
With ``enrich.no_llm`` the item text is built from metadata only and no model is loaded.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from mllmrec.config import Settings
from mllmrec.db import Store
from mllmrec.enrich.backends import Request
from mllmrec.enrich.common import dataset_domain, generate_and_write, stage_params, write_rows
from mllmrec.enrich.images import load_image
from mllmrec.enrich.prompts import render
from mllmrec.enrich.report import EMPTY_TEXT, EnrichSummary, ItemFailure
from mllmrec.enrich.texts import clean, fuse_item_text, text_hash
from mllmrec.provenance import stage_run

log = logging.getLogger(__name__)

PROMPT_TASK = "describe_item"


def _text_row(item: dict[str, Any], with_description: bool) -> dict[str, Any]:
    text = fuse_item_text(item, with_image_description=with_description)
    return {"id": item["id"], "text": text or None, "text_hash": text_hash(text) if text else None}


def _needs_description(item: dict[str, Any], model: str, prompt: str) -> bool:
    return bool(item["image"]) and not (item["model"] == model and item["prompt"] == prompt
                                        and item["image_description"])


def describe_items(store: Store, settings: Settings,
                   on_batch: Callable[[EnrichSummary], None] | None = None) -> EnrichSummary:
    """Describe the images of the dataset's items and write every item's fused text.
    ``on_batch`` is called after each written batch (progress reporting). Returns counts:
    generated, skipped (already described), written, and failures by kind."""
    es, dataset = settings.enrich, settings.dataset
    domain = dataset_domain(store, dataset, es)
    model, prompt = es.vlm_model, es.prompt_version
    params = stage_params(es, domain=domain)
    with stage_run(store, dataset, "describe", params) as rec:
        items = store.run("enrich/items_to_describe", dataset=dataset)
        summary = EnrichSummary("describe", total=len(items))
        todo = [] if es.no_llm else [it for it in items if _needs_description(it, model, prompt)]
        summary.skipped = len(items) - len(todo)
        summary.extra["without_image"] = sum(1 for it in items if not it["image"])
        log.info("describe %s: %d items, %d to describe with %s (prompt %s, domain '%s')",
                 dataset, len(items), len(todo), "no model" if es.no_llm else model, prompt, domain)
        _write_texts(store, dataset, items, not es.no_llm, summary)
        if todo:
            _generate(store, settings, todo, domain, summary, on_batch)
        rec.counts = summary.finish().counts()
    return summary


def _write_texts(store: Store, dataset: str, items: list[dict[str, Any]], with_description: bool,
                 summary: EnrichSummary) -> None:
    """Fused texts from what is stored now; only changed ones are written."""
    rows = []
    for item in items:
        row = _text_row(item, with_description)
        if row["text"] is None:
            summary.fail(f"item {item['id']}", ItemFailure(EMPTY_TEXT, "no title, metadata or description"))
        if row["text_hash"] != item["text_hash"]:
            rows.append(row)
    summary.written += write_rows(store, "enrich/set_item_texts", rows, dataset=dataset)


def _generate(store: Store, settings: Settings, todo: list[dict[str, Any]], domain: str,
              summary: EnrichSummary, on_batch: Callable[[EnrichSummary], None] | None) -> None:
    es = settings.enrich

    def request(item: dict[str, Any]) -> Request:
        image = load_image(item["image"], es.image_cache, es.image_max_pixels, es.image_timeout)
        title = clean(item["title"]) or clean(item["category"]) or "untitled"
        return Request(render(PROMPT_TASK, es.prompt_version, domain=domain, title=title), image)

    def row(item: dict[str, Any], text: str) -> dict[str, Any]:
        described = {**item, "image_description": clean(text)}
        return {**_text_row(described, True), "image_description": described["image_description"]}

    generate_and_write(store, settings, es.vlm_model, todo, query="enrich/set_item_descriptions",
                       request=request, row=row, label=lambda item: f"item {item['id']}",
                       summary=summary, desc="describe", unit="item", on_batch=on_batch)
