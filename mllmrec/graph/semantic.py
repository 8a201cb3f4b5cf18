"""Semantic graph G_s: each item's top ``knn_k`` items by cosine of ``Item.embedding`` (the
item itself included, as its own top match), kept only where cosine >= ``pure``.

Neighbours are found in Cypher, per batch of source items, in one of two modes
(:func:`use_approximate` picks; ``graph.approximate`` forces one):

- exact (small catalogues, tests): brute force with ``vector.similarity.cosine`` over the
  dataset's items, the final candidates re-scored in float64, so stored weights are the real
  cosine to ~1e-15 and edge sets match an exact reference bit for bit. Costs items^2.
- approximate (default above ``graph.approximate_above`` items): the HNSW vector index
  ``item_embedding``; the cosine is read from the index score (cos = 2 * score - 1, float32
  precision), nothing is re-scored. Its recall against exact is measured on a small sample of
  source items (``graph.recall_sample``, 0 = off). Lucene searches each segment of the index
  on its own, and an index grown by many small writes (the embed stage's batches) has many:
  the search is 2-4x slower than on a freshly populated index (measured at Sports size), so
  the index is first rebuilt when this dataset dominates it (``graph.rebuild_index``).

Kept neighbours are written as ``(:Item)-[:SIMILAR {cosine, build}]->(:Item)``, self-loops
included: row i of G_s holds i itself whenever cos(i, i) = 1 >= pure, so the edge set *is* G_s.
"""
from __future__ import annotations

import logging
import math
import random
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Literal

from tqdm.auto import tqdm

from mllmrec.config import GraphSettings
from mllmrec.db import Store, chunks
from mllmrec.errors import StageError
from mllmrec.schema import VECTOR_INDEXES, ensure_vector_indexes

log = logging.getLogger(__name__)

INDEX = VECTOR_INDEXES["item"]  # created by the embed stage (or here, when missing)
# Exact mode: candidates re-scored in float64 beyond knn_k: float32 scoring noise (~1e-7)
# cannot move an item across this many ranks except among exact ties, which the id order settles.
RERANK_MARGIN = 5

Neighbours = dict[str, list[tuple[str, float]]]


@dataclass
class EmbeddedItems:
    """The dataset's items with an embedding, and the vector index's total population."""

    ids: list[str]
    items: int
    dimensions: int | None
    indexed: int


def embedded_items(store: Store, dataset: str) -> EmbeddedItems:
    """The dataset's embedded items; StageError if their embeddings differ in dimension
    (e.g. vectors from two encoders), before anything is written."""
    row = store.run("graph/embedded_items", dataset=dataset)[0]
    dims = sorted(row["dimensions"], key=lambda d: -d["items"])
    if len(dims) > 1:
        odd = ", ".join(f"{d['items']} of dimension {d['dimension']} (e.g. item '{d['example']}')"
                        for d in dims[1:])
        raise StageError(f"dataset '{dataset}': item embeddings differ in dimension: "
                         f"{dims[0]['items']} of dimension {dims[0]['dimension']}, {odd}; "
                         "re-run 'mllmrec embed' with one encoder")
    return EmbeddedItems(sorted(row["ids"]), int(row["items"]),
                     dims[0]["dimension"] if dims else None, int(row["indexed"]))


# How neighbours are found: the query graph/similar_<search>. "exact" holds the dataset's
# vectors at once (small catalogues), "exact_scan" scans per source in bounded memory (a few
# sources of any catalogue), "approximate" asks the vector index.
Search = Literal["exact", "exact_scan", "approximate"]


def neighbours(store: Store, dataset: str, sources: list[str], knn_k: int,
               search: Search = "exact", fetch: int = 0) -> Neighbours:
    """Top ``knn_k`` (target id, cosine) of each source, before the threshold."""
    rows = store.run(f"graph/similar_{search}", dataset=dataset, sources=sources, knn_k=knn_k,
                     candidates=knn_k + RERANK_MARGIN, index=INDEX, fetch=fetch)
    return {r["source"]: [(n["target"], n["cosine"]) for n in r["neighbours"]] for r in rows}


def concurrent_neighbours(store: Store, dataset: str, batches: list[list[str]], knn_k: int,
                          search: Search, fetch: int, workers: int) -> Iterator[Neighbours]:
    """:func:`neighbours` of each batch, in order, with up to ``workers`` read queries running
    at once (Neo4j runs each query on one core; the caller writes while later batches are
    searched). Writes stay in the caller's thread: concurrent edge writes would contend for
    the same target nodes' locks."""
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="knn")
    try:
        yield from pool.map(
            lambda batch: neighbours(store, dataset, batch, knn_k, search, fetch),
            batches)
    finally:  # a failed write must not wait for every remaining search
        pool.shutdown(wait=True, cancel_futures=True)


def use_approximate(settings: GraphSettings, n_items: int) -> bool:
    """The kNN mode of a build: ``settings.approximate`` when set, else approximate exactly
    when the catalogue has more than ``settings.approximate_above`` embedded items."""
    if settings.approximate is not None:
        return settings.approximate
    return n_items > settings.approximate_above


def kept(found: Neighbours, pure: float) -> set[tuple[str, str]]:
    """The (source, target) pairs that pass the threshold."""
    return {(s, t) for s, nbrs in found.items() for t, c in nbrs if c >= pure}


def should_rebuild(settings: GraphSettings, cat: EmbeddedItems) -> bool:
    """Whether an approximate build first rebuilds the vector index: as configured, else when
    this dataset holds at least half of the indexed items (then the one-pass population costs
    less than the searches it speeds up)."""
    if settings.rebuild_index is not None:
        return settings.rebuild_index
    return 2 * len(cat.ids) >= cat.indexed


def rebuild_index(store: Store, dimensions: int) -> None:
    """Drop the item vector index and create it again, populated in one pass (one compact
    segment set), waiting until it is online. Approximate searches of other datasets fail
    while it is down (seconds at Sports size)."""
    store.run("schema/drop_item_index")
    ensure_vector_indexes(store, dimensions)


def index_fetch(cat: EmbeddedItems, index_candidates: int) -> int:
    """How many neighbours to ask the shared index for so that about ``index_candidates``
    of them belong to this dataset (the index holds every dataset's items)."""
    share = cat.indexed / max(len(cat.ids), 1)
    return min(cat.indexed, math.ceil(index_candidates * share))


def build_semantic(store: Store, dataset: str, build_id: str, settings: GraphSettings,
                   cat: EmbeddedItems, approximate: bool) -> tuple[dict[str, float], dict[str, float]]:
    """Write the ``SIMILAR`` edges of ``build_id`` (through the vector index when
    ``approximate``); return counts (and, in approximate mode, recall against the exact edge
    set on a sample of source items) and seconds per step."""
    start = time.perf_counter()
    fetch = 0
    rebuilt = approximate and should_rebuild(settings, cat)
    if rebuilt:
        rebuild_index(store, int(cat.dimensions or 0))
    elif approximate:
        ensure_vector_indexes(store, int(cat.dimensions or 0))  # made by `embed`; no-op then
    rebuild_s = time.perf_counter() - start
    if approximate:
        fetch = index_fetch(cat, settings.index_candidates)
    sample = _recall_sample(cat.ids, settings) if approximate else set()
    approx_sample: Neighbours = {}
    written = considered = loops = 0
    batches = list(chunks(cat.ids, settings.batch_items))
    with tqdm(total=len(cat.ids), desc="semantic kNN", unit="item", leave=False) as bar:
        for batch, found in zip(batches, concurrent_neighbours(
                store, dataset, batches, settings.knn_k, "approximate" if approximate else "exact",
                fetch, settings.workers)):
            rows = [{"source": s, "target": t, "cosine": c}
                    for s, nbrs in found.items() for t, c in nbrs if c >= settings.pure]
            store.write_batches("graph/write_similar", rows, desc=False, dataset=dataset,
                                build=build_id)
            written += len(rows)
            loops += sum(r["source"] == r["target"] for r in rows)
            considered += sum(len(n) for n in found.values())
            approx_sample.update({s: found[s] for s in sample.intersection(found)})
            bar.update(len(batch))
    counts: dict[str, float] = {
        "similar_sources": len(cat.ids),
        "similar_edges": written,
        "similar_loops": loops,
        "similar_below_pure": considered - written,
        "items_without_embedding": cat.items - len(cat.ids),
    }
    timings = {"semantic_s": time.perf_counter() - start}  # the index rebuild included
    if rebuilt:
        timings["index_rebuild_s"] = rebuild_s
    if sample:
        start = time.perf_counter()
        counts["approximate_recall"] = approximate_recall(
            store, dataset, approx_sample, settings.knn_k, settings.pure,
            workers=settings.workers)
        timings["recall_s"] = time.perf_counter() - start
        counts["recall_sample"] = len(sample)
    if approximate:
        counts["index_fetch"] = fetch
        counts["index_rebuilt"] = int(rebuilt)
    log.info("%s: %d SIMILAR edges (%d below pure=%.3f)", dataset, written,
             considered - written, settings.pure)
    return counts, timings


def _recall_sample(ids: list[str], settings: GraphSettings) -> set[str]:
    n = min(settings.recall_sample, len(ids))
    return set(random.Random(0).sample(ids, n))


def approximate_recall(store: Store, dataset: str, approx: Neighbours, knn_k: int,
                       pure: float, batch: int = 50, workers: int = 1) -> float:
    """Share of the exact kept edges of the sampled sources that the approximate build also
    kept (1.0 when the exact set is empty). The exact side scans per source: bounded memory
    on any catalogue (the batch query of exact builds holds every vector at once)."""
    exact: Neighbours = {}
    for found in concurrent_neighbours(store, dataset, list(chunks(sorted(approx), batch)),
                                       knn_k, "exact_scan", 0, workers):
        exact.update(found)
    truth = kept(exact, pure)
    if not truth:
        return 1.0
    return len(truth & kept(approx, pure)) / len(truth)
