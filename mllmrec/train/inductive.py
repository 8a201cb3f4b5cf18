"""Vectors of items and users no training run has seen, from their text vectors and a trained
run's weights, with no training (``mllmrec refresh``; docs/train.md, "Inductive vectors").

MLLMRec's towers are functions of text (docs/method.md section 6): an item's vector is
``h_i = MLP_i((sum_{l=0..L} A^l E)_i)`` over the item-item graph, a user's ``h_u = MLP_u(p_u)``.
For new items only their rows of ``sum_l A^l E`` are needed: they are computed with sparse
row products over the normalised graph of the active build (the same ``A`` training builds,
:func:`mllmrec.train.data.normalised_adjacency`), reading the text vectors of the items those
rows reach (their L-hop neighbourhood) only, never a dense N x N matrix. The model's own
:meth:`~mllmrec.train.model.Recommender.text_item_repr` / ``text_user_repr`` apply the
weights, so the vectors are what the trained model computes for such an entity.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp
import torch

from mllmrec.db import Store, chunks
from mllmrec.errors import StageError
from mllmrec.train.data import item_adjacency, item_ids
from mllmrec.train.model import Recommender

#: Ids per text-vector read.
READ_BATCH = 5_000


def propagated_rows(a: sp.csr_matrix, rows: np.ndarray, n_layers: int) -> sp.csr_matrix:
    """Rows ``rows`` of ``sum_{l=0..n_layers} A^l`` (len(rows) x N, sparse): ``R_0 = I[rows]``,
    ``R_l = R_{l-1} A``. Its non-zero columns are the items whose text vectors the rows read."""
    r = sp.csr_matrix((np.ones(len(rows)), (np.arange(len(rows)), rows)), shape=(len(rows), a.shape[0]))
    acc = r
    for _ in range(n_layers):
        r = r @ a
        acc = acc + r
    return acc.tocsr()


def text_vectors(store: Store, query: str, dataset: str, ids: list[str], dim: int) -> np.ndarray:
    """The text vectors (``embedding``) of ``ids`` in that order, as one float64 array; each
    must have ``dim`` dimensions (the run's encoder)."""
    got: dict[str, Any] = {}
    for batch in chunks(ids, READ_BATCH):
        got.update((r["id"], r["embedding"]) for r in store.run(query, dataset=dataset, ids=batch))
    missing = [x for x in ids if got.get(x) is None]
    if missing:
        raise StageError(f"{len(missing)} nodes of '{dataset}' have no text vector "
                         f"(e.g. {missing[:3]}); run 'mllmrec embed'")
    other = [x for x in ids if len(got[x]) != dim]
    if other:
        raise StageError(f"{len(other)} text vectors of '{dataset}' (e.g. {other[0]}) have "
                         f"{len(got[other[0]])} dimensions, the serving run's towers take {dim} "
                         "(another encoder?); retrain instead")
    return np.asarray([got[x] for x in ids], dtype=np.float64)


def item_inputs(store: Store, dataset: str, new_ids: list[str], n_layers: int, dim: int
                ) -> tuple[np.ndarray, str]:
    """``(sum_{l=0..L} A^l E)`` rows of ``new_ids`` over the active build (with their edges),
    float32, and the build's id; text vectors of ``dim`` dimensions."""
    ids = item_ids(store, dataset)
    a, build = item_adjacency(store, dataset, ids)
    pos = {x: k for k, x in enumerate(ids)}
    unknown = [x for x in new_ids if x not in pos]
    if unknown:
        raise StageError(f"items {unknown[:3]} are not items of '{dataset}'")
    rows = propagated_rows(a, np.asarray([pos[x] for x in new_ids], dtype=np.int64), n_layers)
    support = np.unique(rows.indices)
    e = text_vectors(store, "refresh/item_embeddings", dataset, [ids[k] for k in support], dim)
    return np.asarray(rows[:, support] @ e, dtype=np.float32), build


def item_vectors(model: Recommender, inputs: np.ndarray) -> np.ndarray:
    """``model.text_item_repr`` of the propagated text inputs, as float32 numpy."""
    with torch.no_grad():
        return model.text_item_repr(torch.from_numpy(inputs)).numpy().astype(np.float32)


def user_vectors(model: Recommender, feats: np.ndarray) -> np.ndarray:
    """``model.text_user_repr`` of preference-text vectors, as float32 numpy."""
    with torch.no_grad():
        return model.text_user_repr(torch.from_numpy(feats.astype(np.float32))).numpy().astype(np.float32)
