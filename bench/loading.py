"""Put a benchmark catalogue into Neo4j the way the pipeline does: the real ingest stage
(prepare + write), then, for synthetic data that has no texts to encode, the precomputed
embeddings written with the embed stage's own queries and vector indexes. New items and users
arriving after training (:class:`bench.synthetic.Arrivals`) go in the same way: the real
incremental ingest, then their vectors."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from bench.synthetic import DIM, Arrivals, Synthetic, user_embeddings
from loaders.canonical import Catalogue
from mllmrec.config import Settings
from mllmrec.db import Store
from mllmrec.ingest import IngestReport, existing_splits, prepare, write
from mllmrec.ingest import ingest as ingest_stage
from mllmrec.schema import ensure_vector_indexes

VECTOR_BATCH = 2_000


def ingest(store: Store, settings: Settings, cat: Catalogue,
           params: dict | None = None) -> tuple[Catalogue, IngestReport]:
    """Validate, split and write ``cat`` as ``settings.dataset`` with the real ingest stage.
    Returns the prepared catalogue (with split labels) and the stage's report."""
    prepared = prepare(cat, settings.ingest)
    report = write(store, settings.dataset, prepared, settings.ingest,
                   params or {"format": cat.meta.get("format", "bench")})
    return prepared, report


def store_vectors(store: Store, dataset: str, kind: str, ids: Sequence[str],
                  vectors: np.ndarray, tag: str) -> int:
    """Write one vector per node (``kind`` "item" or "user") through the embed stage's
    queries; ``tag`` becomes the embedding hash. Returns rows written."""
    rows = [{"id": i, "vector": v, "hash": tag}
            for i, v in zip(ids, vectors.astype(float).tolist())]
    return store.write_batches(f"enrich/set_{kind}_embeddings", rows, batch_size=VECTOR_BATCH,
                               desc=f"{kind} vectors", dataset=dataset)


def store_synthetic_embeddings(store: Store, dataset: str, syn: Synthetic,
                               prepared: Catalogue) -> int:
    """Item vectors from the generator; user vectors from the users' TRAINING items."""
    ensure_vector_indexes(store, DIM)
    tag = f"synthetic:{syn.catalogue.source}"
    n = store_vectors(store, dataset, "item", syn.item_ids, syn.item_embeddings, tag)
    users, vectors = user_embeddings(prepared.interactions, syn.item_ids, syn.item_embeddings)
    return n + store_vectors(store, dataset, "user", users, vectors, tag)


def ingest_arrivals(store: Store, settings: Settings, arrivals: Arrivals) -> list[IngestReport]:
    """Both parts of ``arrivals`` through the ingest stage as ``mllmrec ingest`` runs it into a
    dataset that holds data: stored labels kept, the new interactions labelled per user."""
    return [ingest_stage(store, settings, cat, {"format": "synthetic"})
            for cat in (arrivals.history, arrivals.no_history)]


def store_arrival_embeddings(store: Store, dataset: str, syn: Synthetic,
                             arrivals: Arrivals) -> int:
    """Vectors of the arrivals, as ``embed`` would leave them: new items' from the
    generator; a user with a history gets the unit mean of the TRAINING items the ingest gave
    them (labels read back from the dataset), a user without one the stand-in for its
    operator text. Returns rows written."""
    tag = f"synthetic:{arrivals.history.source}"
    n = store_vectors(store, dataset, "item", arrivals.item_ids, arrivals.item_embeddings, tag)
    mine = existing_splits(store, dataset)
    mine = mine[mine["user_id"].isin(set(arrivals.history.users["user_id"]))]
    users, vectors = user_embeddings(mine, syn.item_ids + arrivals.item_ids,
                                     np.vstack([syn.item_embeddings, arrivals.item_embeddings]))
    n += store_vectors(store, dataset, "user", users, vectors, tag)
    return n + store_vectors(store, dataset, "user", arrivals.no_history_users,
                             arrivals.text_vectors, tag)
