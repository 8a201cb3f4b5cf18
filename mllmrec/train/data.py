"""Pull what training needs from Neo4j in a few bulk queries and build the DGL graphs.

- items, users (ids sorted, with their 384-d text embeddings only when the model uses them,
  and their cold-start flags), all interactions with their split label (one record per
  user): one query each;
- the item-item graph of the active graph build (or of a named one): one query, one record
  per source item.

Records are streamed as tuples in large fetches and flattened into lists, ids are mapped to
positions with one vectorised ``pandas.Index`` lookup and vectors become one float32 array:
no per-record dicts, no per-row Python dictionary lookups.

Rows become index-aligned tensors: user ``u`` / item ``i`` is position ``u`` / ``i`` in the
sorted id lists kept in :class:`TrainData` (write-back maps positions back to ids).
"""
from __future__ import annotations

import logging
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import dgl
import numpy as np
import pandas as pd
import scipy.sparse as sp
import torch

from mllmrec.cypher import query
from mllmrec.db import Store, bolt_params
from mllmrec.errors import StageError
from mllmrec.graph.build import active_build

log = logging.getLogger(__name__)

TRAIN, VALID, TEST = 0, 1, 2
GIVEN = 3  # a cold user's given interaction (mllmrec.preprocess.GIVEN): masked, never trained


@dataclass
class TrainData:
    """One dataset as tensors: ids, split matrices (TRAIN, VALID, TEST and GIVEN), text
    features, item-item graph, and the cold-start flags of users and items."""

    dataset: str
    user_ids: list[str]
    item_ids: list[str]
    splits: dict[int, sp.csr_matrix]
    cold_users: np.ndarray | None = None  # bool per user (None: no user is cold)
    cold_items: np.ndarray | None = None  # bool per item (None: no item is cold)
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
    def known(self) -> sp.csr_matrix:
        """What evaluation masks: the training interactions and cold users' given ones."""
        given = self.splits.get(GIVEN)
        return self.train if given is None or given.nnz == 0 else (self.train + given).tocsr()

    @property
    def cold(self) -> bool:
        """Whether the dataset was split by the cold-start protocol (any cold user or item)."""
        return any(c is not None and c.any() for c in (self.cold_users, self.cold_items))

    @cached_property
    def ui_graph(self) -> dgl.DGLGraph:
        """The normalised training user-item graph (users first, then items)."""
        return user_item_graph(self.train)


def normalised_adjacency(src: np.ndarray, dst: np.ndarray, weight: np.ndarray,
                         n_items: int) -> sp.csr_matrix:
    """A = D^-1/2 G D^-1/2 with d the row sums of G (docs/method.md section 5), sparse float64:
    the stored edge i -> j is G_ij. Duplicate (i, j) rows are summed (an edge in both G_s and
    G_c weighs 1 + Jaccard). Training (:func:`normalised_item_graph`) and the inductive
    vectors of ``refresh`` (:mod:`mllmrec.train.inductive`) both build A here."""
    g = sp.csr_matrix((weight.astype(np.float64), (src, dst)), shape=(n_items, n_items))
    g.sum_duplicates()
    g.eliminate_zeros()
    d = np.asarray(g.sum(axis=1)).ravel()
    inv_sqrt = np.zeros_like(d)
    inv_sqrt[d > 0] = d[d > 0] ** -0.5
    return (sp.diags(inv_sqrt) @ g @ sp.diags(inv_sqrt)).tocsr()


def normalised_item_graph(src: np.ndarray, dst: np.ndarray, weight: np.ndarray,
                          n_items: int) -> dgl.DGLGraph:
    """:func:`normalised_adjacency` as a DGL graph for message passing: (A x)_i = sum_j A_ij
    x_j, so the stored edge i -> j (row i) becomes the message edge j -> i with weight A_ij
    in ``edata['w']``."""
    a = normalised_adjacency(src, dst, weight, n_items).tocoo()
    mp = dgl.graph((torch.from_numpy(a.col.astype(np.int64)), torch.from_numpy(a.row.astype(np.int64))),
                   num_nodes=n_items)
    mp.edata["w"] = torch.from_numpy(a.data.astype(np.float32))
    return mp


def user_item_graph(train: sp.csr_matrix) -> dgl.DGLGraph:
    """LightGCN's symmetric normalised bipartite graph: nodes are users 0..M-1 then items
    M..M+N-1; edge weight 1 / sqrt(deg(u) deg(i)) in both directions (``edata['w']``), which
    is ``norm[u] * norm[i]`` with ``ndata['norm']`` = deg^-1/2 (0 for a node without edges):
    :func:`mllmrec.train.model.spmm` propagates with the node norms, which is faster."""
    n_users, n_items = train.shape
    coo = train.tocoo()
    deg = np.concatenate([np.asarray(train.sum(axis=1)).ravel(), np.asarray(train.sum(axis=0)).ravel()])
    norm = np.zeros_like(deg, dtype=np.float64)
    norm[deg > 0] = deg[deg > 0] ** -0.5
    u = torch.from_numpy(coo.row.astype(np.int64))
    i = torch.from_numpy(coo.col.astype(np.int64)) + n_users
    g = dgl.graph((torch.cat([u, i]), torch.cat([i, u])), num_nodes=n_users + n_items)
    wt = torch.from_numpy((norm[coo.row] * norm[coo.col + n_users]).astype(np.float32))
    g.edata["w"] = torch.cat([wt, wt])
    g.ndata["norm"] = torch.from_numpy(norm.astype(np.float32))
    return g


# Records per round trip when streaming a pull (the driver's default is 1,000).
FETCH_SIZE = 20_000


def _stream(store: Store, name: str, **params: Any) -> Iterator[tuple[Any, ...]]:
    """The records of a named query as plain tuples, streamed in large fetches: no per-record
    dicts (``Record`` is a tuple, so positional unpacking costs nothing)."""
    with store.driver.session(database=store.database, fetch_size=FETCH_SIZE) as session:
        yield from session.run(query(name), bolt_params(params))


def _positions(index: pd.Index, ids: list[str], kind: str) -> np.ndarray:
    """Positions of ``ids`` in ``index`` (one vectorised hash lookup); unknown ids are an error."""
    pos = index.get_indexer(pd.Index(ids))
    if (pos < 0).any():
        raise StageError(f"{int((pos < 0).sum())} {kind} ids are not nodes of the dataset "
                         f"(e.g. {ids[int(np.argmax(pos < 0))]}); re-run the ingest")
    return pos.astype(np.int64)


@dataclass
class _Groups:
    """The records of a query returning one record per group ``(key, [ids], [values])``,
    flattened: the group keys with their sizes, then every pair's id and value in order."""

    keys: list[str] = field(default_factory=list)
    counts: list[int] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)
    values: list[Any] = field(default_factory=list)

    def key_positions(self, index: pd.Index, kind: str) -> np.ndarray:
        """The position in ``index`` of every pair's key."""
        return np.repeat(_positions(index, self.keys, kind), self.counts)


def _fetch_groups(store: Store, name: str, **params: Any) -> _Groups:
    """Stream a grouped query (one record per user or source item) into :class:`_Groups`."""
    out = _Groups()
    for key, group_ids, group_values in _stream(store, name, **params):
        out.keys.append(key)
        out.counts.append(len(group_ids))
        out.ids.extend(group_ids)
        out.values.extend(group_values)
    return out


def _nodes(store: Store, name: str, dataset: str, embeddings: bool
           ) -> tuple[list[str], list[Any], np.ndarray]:
    """Ids (in id order), when ``embeddings`` the embedding lists (None if missing), and the
    cold-start flags of the dataset's users or items; without ``embeddings`` the vectors never
    leave the server."""
    ids: list[str] = []
    vectors: list[Any] = []
    cold: list[bool] = []
    for node_id, vector, is_cold in _stream(store, name, dataset=dataset, embeddings=embeddings):
        ids.append(node_id)
        vectors.append(vector)
        cold.append(is_cold)
    return ids, vectors, np.asarray(cold, dtype=bool)


def _features(ids: list[str], vectors: list[Any], kind: str, required: bool) -> torch.Tensor:
    """The embeddings as one float32 array (zero rows where missing, when allowed)."""
    present = [k for k, v in enumerate(vectors) if v is not None]
    if not present:
        raise StageError(f"no {kind} has an embedding; run 'mllmrec embed' first")
    missing = len(ids) - len(present)
    if missing and required:
        example = [x for x, v in zip(ids, vectors) if v is None][:5]
        raise StageError(f"{missing} {kind}s have no embedding (e.g. {example}); "
                         "run 'mllmrec embed' again")
    if not missing:
        return torch.from_numpy(np.asarray(vectors, dtype=np.float32))
    feat = np.zeros((len(ids), len(vectors[present[0]])), dtype=np.float32)
    feat[present] = np.asarray([vectors[k] for k in present], dtype=np.float32)
    log.warning("%d %ss have no embedding (no training history?): zero features", missing, kind)
    return torch.from_numpy(feat)


def _split_matrices(pairs: _Groups, users: pd.Index, items: pd.Index) -> dict[int, sp.csr_matrix]:
    """The train / valid / test users x items matrices, from the interactions grouped per user."""
    u_arr = pairs.key_positions(users, "user")
    i_arr = _positions(items, pairs.ids, "item")
    s_arr = np.asarray([-1 if s is None else s for s in pairs.values], dtype=np.int64)
    bad = (s_arr < 0) | (s_arr > GIVEN)
    if bad.any():
        raise StageError(f"{int(bad.sum())} interactions have no valid split label (0/1/2/3); "
                         "re-run the ingest")
    shape = (len(users), len(items))
    return {s: sp.csr_matrix((np.ones(int((s_arr == s).sum()), dtype=np.float32),
                              (u_arr[s_arr == s], i_arr[s_arr == s])), shape=shape)
            for s in (TRAIN, VALID, TEST, GIVEN)}


def _fetch_item_edges(store: Store, dataset: str, build: str | None = None) -> tuple[_Groups, str]:
    """The edges of graph build ``build`` (None: the dataset's active build), grouped per
    source item, and the build's id."""
    if build is None:
        build = str(active_build(store, dataset)["id"])
    return _fetch_groups(store, "train/item_edges", dataset=dataset, build=build), build


def item_adjacency(store: Store, dataset: str, item_ids: list[str]) -> tuple[sp.csr_matrix, str]:
    """A of the dataset's active build (:func:`normalised_adjacency`) over ``item_ids`` (every
    item of the dataset, in position order), and the build's id; the same pull as training's."""
    edges, build = _fetch_item_edges(store, dataset)
    if not edges.ids:
        raise StageError(f"graph build {build} of '{dataset}' has no SIMILAR/CO_OCCURS edges")
    items = pd.Index(item_ids)
    return normalised_adjacency(edges.key_positions(items, "item"), _positions(items, edges.ids, "item"),
                                np.asarray(edges.values, dtype=np.float64), len(items)), build


def item_ids(store: Store, dataset: str) -> list[str]:
    """Every item id of the dataset in position order (the order training uses)."""
    return _nodes(store, "train/items", dataset, False)[0]


def _item_graph(edges: _Groups, build: str, dataset: str, items: pd.Index) -> dgl.DGLGraph:
    """The normalised item-item graph of ``edges`` (``items``: item ids in position order)."""
    if not edges.ids:
        raise StageError(f"graph build {build} of '{dataset}' has no SIMILAR/CO_OCCURS edges")
    return normalised_item_graph(edges.key_positions(items, "item"), _positions(items, edges.ids, "item"),
                                 np.asarray(edges.values, dtype=np.float64), len(items))


def load_train_data(store: Store, dataset: str, features: bool = True, item_graph: bool = True,
                    user_features: bool = True, build: str | None = None,
                    test: bool = True) -> TrainData:
    """Everything a model needs for ``dataset``: ids, split matrices and, on request, the text
    features (``features``/``user_features``) and the item-item graph (``item_graph``) of the
    active build or of graph build ``build``. With ``test=False`` the test interactions are
    not pulled (the test matrix is empty): what a tuning trial reads."""
    with ThreadPoolExecutor(max_workers=4, thread_name_prefix="pull") as pool:
        # four independent reads on their own sessions: the server produces one while the
        # client decodes another
        items_f = pool.submit(_nodes, store, "train/items", dataset, features)
        users_f = pool.submit(_nodes, store, "train/users", dataset, features and user_features)
        pairs_f = pool.submit(_fetch_groups, store, "train/interactions", dataset=dataset,
                              splits=[TRAIN, VALID, TEST, GIVEN] if test else [TRAIN, VALID, GIVEN])
        edges_f = pool.submit(_fetch_item_edges, store, dataset, build) if item_graph else None
        item_ids, item_vectors, cold_items = items_f.result()
        user_ids, user_vectors, cold_users = users_f.result()
        if not item_ids or not user_ids:
            raise StageError(f"dataset '{dataset}' has no users or items; ingest it first")
        items = pd.Index(item_ids)
        splits = _split_matrices(pairs_f.result(), pd.Index(user_ids), items)
        if splits[TRAIN].nnz == 0:
            raise StageError(f"dataset '{dataset}' has no training interactions")
        edges = edges_f.result() if edges_f is not None else None
    data = TrainData(dataset, user_ids, item_ids, splits,
                     cold_users=cold_users if cold_users.any() else None,
                     cold_items=cold_items if cold_items.any() else None)
    if features:
        data.item_feat = _features(item_ids, item_vectors, "item", required=True)
        if user_features:
            data.user_feat = _features(user_ids, user_vectors, "user", required=False)
    if edges is not None:
        groups, data.graph_build = edges
        data.ii_graph = _item_graph(groups, data.graph_build, dataset, items)
    data.counts = {"users": data.n_users, "items": data.n_items,
                   **{f"{name}_interactions": int(splits[s].nnz)
                      for s, name in ((TRAIN, "train"), (VALID, "valid"), (TEST, "test"))},
                   "item_edges": int(data.ii_graph.num_edges()) if data.ii_graph is not None else 0}
    if data.cold:
        data.counts.update({"given_interactions": int(splits[GIVEN].nnz),
                            **{f"cold_{kind}": int(flags.sum()) if flags is not None else 0
                               for kind, flags in (("users", data.cold_users),
                                                   ("items", data.cold_items))}})
    return data
