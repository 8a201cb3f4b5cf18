"""Independent reference computations of the item-item graphs (METHOD.md section 5) with
numpy/scipy, sharing no code with mllmrec.graph. Sparse co-occurrence counts and blockwise
cosine top-k: nothing is N x N dense."""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

Edges = dict[tuple[str, str], float]


def cooccurrence_edges(users: np.ndarray, items: np.ndarray, item_ids: list[str],
                       knn_jac: int) -> Edges:
    """Top ``knn_jac`` other items by Jaccard of audiences, ties by item id (string) asc.
    ``users`` / ``items`` are the (training) interaction pairs."""
    ids = np.asarray(sorted(item_ids))
    col = {x: k for k, x in enumerate(ids)}
    u_codes = np.unique(users, return_inverse=True)[1]
    i_codes = np.array([col[x] for x in items])
    x = sp.csr_matrix((np.ones(len(u_codes)), (u_codes, i_codes)),
                      shape=(u_codes.max() + 1, len(ids)))
    x.data[:] = 1.0  # duplicates would count once
    deg = np.asarray(x.sum(axis=0)).ravel()
    inter = (x.T @ x).tocsr()
    inter.setdiag(0)
    inter.eliminate_zeros()
    edges: Edges = {}
    for i in range(len(ids)):
        lo, hi = inter.indptr[i], inter.indptr[i + 1]
        js, c = inter.indices[lo:hi], inter.data[lo:hi]
        jac = c / (deg[i] + deg[js] - c)
        order = np.lexsort((js, -jac))[:knn_jac]  # ids are sorted, so index order = id order
        for k in order:
            edges[(ids[i], ids[js[k]])] = float(jac[k])
    return edges


def semantic_edges(ids: list[str], vectors: np.ndarray, knn_k: int, pure: float,
                   block: int = 256) -> tuple[Edges, int]:
    """Top ``knn_k`` items by cosine (the item itself included), ties by id asc, kept when
    cosine >= pure. Returns the kept edges and how many top-k neighbours the threshold cut."""
    order = np.argsort(np.asarray(ids))
    ids_sorted = np.asarray(ids)[order]
    e = vectors[order].astype(np.float64)
    e /= np.linalg.norm(e, axis=1, keepdims=True)
    edges: Edges = {}
    cut = 0
    for start in range(0, len(ids_sorted), block):
        sims = e[start:start + block] @ e.T
        for r, row in enumerate(sims):
            top = np.lexsort((np.arange(len(row)), -row))[:knn_k]
            for k in top:
                if row[k] >= pure:
                    edges[(ids_sorted[start + r], ids_sorted[k])] = float(row[k])
                else:
                    cut += 1
    return edges, cut


def assert_same_edges(got: Edges, want: Edges, tol: float = 1e-6) -> None:
    missing, extra = set(want) - set(got), set(got) - set(want)
    assert not missing and not extra, (
        f"{len(missing)} missing e.g. {sorted(missing)[:5]}, {len(extra)} extra e.g. {sorted(extra)[:5]}")
    worst = max((abs(got[k] - want[k]) for k in want), default=0.0)
    assert worst <= tol, f"largest weight difference {worst}"
