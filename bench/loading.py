"""Put a benchmark catalogue into Neo4j the way the pipeline does: the real ingest stage
(prepare + write), then, for synthetic data that has no texts to encode, the precomputed
embeddings written with the embed stage's own queries and vector indexes."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from bench.synthetic import DIM, Synthetic, user_embeddings
from loaders.canonical import Catalogue
from mllmrec.config import Settings
from mllmrec.db import Store
from mllmrec.ingest import IngestReport, prepare, write
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
