"""Pull what training needs from Neo4j in a few bulk queries and build the DGL graphs.

- items, users (ids sorted, with their 384-d text embeddings), all interactions with their
  split label: one query each;
- the item-item graph of the latest graph build: one query, one row per source item.

Rows become index-aligned tensors: user ``u`` / item ``i`` is position ``u`` / ``i`` in the
sorted id lists kept in :class:`TrainData` (write-back maps positions back to ids).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from functools import cached_property

import dgl
import numpy as np
import scipy.sparse as sp
import torch

from mllmrec.db import Graph
from mllmrec.errors import StageError

log = logging.getLogger(__name__)

TRAIN, VALID, TEST = 0, 1, 2


@dataclass
class TrainData:
    """One dataset as tensors: ids, split matrices, text features, item-item graph."""

    dataset: str
    user_ids: list[str]
    item_ids: list[str]
    splits: dict[int, sp.csr_matrix]
    item_feat: torch.Tensor | None = None
    user_feat: torch.Tensor | None = None
    ii_graph: dgl.DGLGraph | None = None
    graph_build: str | None = None
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def n_users(self) -> int:
        return len(self.user_ids)

    @property
    def n_items(self) -> int:
        return len(self.item_ids)

    @property
    def train(self) -> sp.csr_matrix:
        return self.splits[TRAIN]

    @cached_property
    def ui_graph(self) -> dgl.DGLGraph:
        """The normalised training user-item graph (users first, then items)."""
        return user_item_graph(self.train)


def normalised_item_graph(src: np.ndarray, dst: np.ndarray, weight: np.ndarray,
                          n_items: int) -> dgl.DGLGraph:
    """A = D^-1/2 G D^-1/2 with d the row sums of G (METHOD.md section 5), as a DGL graph for
    message passing: (A x)_i = sum_j A_ij x_j, so the stored edge i -> j (row i) becomes the
    message edge j -> i with weight A_ij in ``edata['w']``. Duplicate (i, j) rows are summed
    (an edge in both G_s and G_c weighs 1 + Jaccard)."""
    g = sp.csr_matrix((weight.astype(np.float64), (src, dst)), shape=(n_items, n_items))
    g.sum_duplicates()
    g.eliminate_zeros()
    d = np.asarray(g.sum(axis=1)).ravel()
    inv_sqrt = np.zeros_like(d)
    inv_sqrt[d > 0] = d[d > 0] ** -0.5
    a = (sp.diags(inv_sqrt) @ g @ sp.diags(inv_sqrt)).tocoo()
    mp = dgl.graph((torch.from_numpy(a.col.astype(np.int64)), torch.from_numpy(a.row.astype(np.int64))),
                   num_nodes=n_items)
    mp.edata["w"] = torch.from_numpy(a.data.astype(np.float32))
    return mp


def user_item_graph(train: sp.csr_matrix) -> dgl.DGLGraph:
    """LightGCN's symmetric normalised bipartite graph: nodes are users 0..M-1 then items
    M..M+N-1; edge weight 1 / sqrt(deg(u) deg(i)) in both directions."""
    n_users, n_items = train.shape
    coo = train.tocoo()
    du = np.asarray(train.sum(axis=1)).ravel()
    di = np.asarray(train.sum(axis=0)).ravel()
    w = 1.0 / np.sqrt(du[coo.row] * di[coo.col])
    u = torch.from_numpy(coo.row.astype(np.int64))
    i = torch.from_numpy(coo.col.astype(np.int64)) + n_users
    g = dgl.graph((torch.cat([u, i]), torch.cat([i, u])), num_nodes=n_users + n_items)
    wt = torch.from_numpy(w.astype(np.float32))
    g.edata["w"] = torch.cat([wt, wt])
    return g


def _index(ids: list[str]) -> dict[str, int]:
    return {x: k for k, x in enumerate(ids)}


def _features(rows: list[dict], kind: str, required: bool) -> torch.Tensor:
    missing = [r["id"] for r in rows if r["embedding"] is None]
    if len(missing) == len(rows):
        raise StageError(f"no {kind} has an embedding; run 'mllmrec embed' first")
    if missing and required:
        raise StageError(f"{len(missing)} {kind}s have no embedding (e.g. {missing[:5]}); "
                         "run 'mllmrec embed' again")
    dim = len(next(r["embedding"] for r in rows if r["embedding"] is not None))
    feat = np.zeros((len(rows), dim), dtype=np.float32)
    for k, r in enumerate(rows):
        if r["embedding"] is not None:
            feat[k] = r["embedding"]
    if missing:
        log.warning("%d %ss have no embedding (no training history?): zero features", len(missing), kind)
    return torch.from_numpy(feat)


def _split_matrices(rows: list[dict], users: dict[str, int], items: dict[str, int]
                    ) -> dict[int, sp.csr_matrix]:
    u_idx, i_idx, split = [], [], []
    for r in rows:
        u = users[r["user"]]
        u_idx.extend([u] * len(r["items"]))
        i_idx.extend(items[i] for i in r["items"])
        split.extend(r["splits"])
    u_arr, i_arr = np.asarray(u_idx, dtype=np.int64), np.asarray(i_idx, dtype=np.int64)
    s_arr = np.asarray([-1 if s is None else s for s in split], dtype=np.int64)
    if (s_arr < 0).any() or (s_arr > TEST).any():
        raise StageError(f"{int(((s_arr < 0) | (s_arr > TEST)).sum())} interactions have no valid "
                         "split label (0/1/2); re-run the ingest")
    shape = (len(users), len(items))
    return {s: sp.csr_matrix((np.ones(int((s_arr == s).sum()), dtype=np.float32),
                              (u_arr[s_arr == s], i_arr[s_arr == s])), shape=shape)
            for s in (TRAIN, VALID, TEST)}


def load_item_graph(graph: Graph, dataset: str, item_index: dict[str, int]
                    ) -> tuple[dgl.DGLGraph, str]:
    """The normalised item-item graph of the latest build of the dataset, and that build's id."""
    builds = graph.run("graph/active_build", dataset=dataset)
    if not builds:
        raise StageError(f"dataset '{dataset}' has no item-item graph; run 'mllmrec build-graph' first")
    build = builds[0]["id"]
    src, dst, weight = [], [], []
    for r in graph.run("train/item_edges", dataset=dataset, build=build):
        s = item_index[r["src"]]
        src.extend([s] * len(r["dst"]))
        dst.extend(item_index[d] for d in r["dst"])
        weight.extend(r["weight"])
    if not src:
        raise StageError(f"graph build {build} of '{dataset}' has no SIMILAR/CO_OCCURS edges")
    g = normalised_item_graph(np.asarray(src), np.asarray(dst), np.asarray(weight, dtype=np.float64),
                              len(item_index))
    return g, build


def load_train_data(graph: Graph, dataset: str, features: bool = True, item_graph: bool = True,
                    user_features: bool = True) -> TrainData:
    """Everything a model needs for ``dataset``: ids, split matrices and, on request, the text
    features (``features``/``user_features``) and the item-item graph (``item_graph``)."""
    item_rows = graph.run("train/items", dataset=dataset)
    user_rows = graph.run("train/users", dataset=dataset)
    if not item_rows or not user_rows:
        raise StageError(f"dataset '{dataset}' has no users or items; ingest it first")
    user_ids = [r["id"] for r in user_rows]
    item_ids = [r["id"] for r in item_rows]
    items = _index(item_ids)
    splits = _split_matrices(graph.run("train/interactions", dataset=dataset), _index(user_ids), items)
    if splits[TRAIN].nnz == 0:
        raise StageError(f"dataset '{dataset}' has no training interactions")
    data = TrainData(dataset, user_ids, item_ids, splits)
    if features:
        data.item_feat = _features(item_rows, "item", required=True)
        if user_features:
            data.user_feat = _features(user_rows, "user", required=False)
    if item_graph:
        data.ii_graph, data.graph_build = load_item_graph(graph, dataset, items)
    data.counts = {"users": data.n_users, "items": data.n_items,
                   **{f"{name}_interactions": int(splits[s].nnz)
                      for s, name in ((TRAIN, "train"), (VALID, "valid"), (TEST, "test"))},
                   "item_edges": int(data.ii_graph.num_edges()) if data.ii_graph is not None else 0}
    return data
