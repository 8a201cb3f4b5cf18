"""Independent reference computations of the item-item graphs (docs/method.md section 5) with
numpy/scipy, sharing no code with mllmrec.graph. Sparse co-occurrence counts and blockwise
cosine top-k: nothing is N x N dense."""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

Edges = dict[tuple[str, str], float]


def _top_per_row(rows: np.ndarray, cols: np.ndarray, weights: np.ndarray, k: int) -> np.ndarray:
    """Positions of each row's top ``k`` entries by weight desc, then column asc (columns
    index ids sorted as strings, so column order is id order). Vectorised: no per-row loop."""
    order = np.lexsort((cols, -weights, rows))
    sorted_rows = rows[order]
    rank = np.arange(len(order)) - np.searchsorted(sorted_rows, sorted_rows)
    return order[rank < k]


def cooccurrence_edges(users: np.ndarray, items: np.ndarray, item_ids: list[str],
                       knn_jac: int) -> Edges:
    """Top ``knn_jac`` other items by Jaccard of audiences, ties by item id (string) asc.
    ``users`` / ``items`` are the (training) interaction pairs. Sparse: memory grows with
    the number of co-occurring pairs (nnz of X^T X), not with items squared."""
    ids = np.asarray(sorted(item_ids))
    i_codes = np.searchsorted(ids, np.asarray(items, dtype=str))
    u_codes = np.unique(np.asarray(users, dtype=str), return_inverse=True)[1]
    x = sp.csr_matrix((np.ones(len(u_codes)), (u_codes, i_codes)),
                      shape=(u_codes.max() + 1, len(ids)))
    x.data[:] = 1.0  # a repeated (user, item) pair counts once
    deg = np.asarray(x.sum(axis=0)).ravel()
    inter = (x.T @ x).tocoo()
    off = inter.row != inter.col
    r, c, n = inter.row[off], inter.col[off], inter.data[off]
    jac = n / (deg[r] + deg[c] - n)
    keep = _top_per_row(r, c, jac, knn_jac)
    return {(ids[a], ids[b]): float(w) for a, b, w in zip(r[keep], c[keep], jac[keep])}


def semantic_edges(ids: list[str], vectors: np.ndarray, knn_k: int, pure: float,
                   block: int = 512, sources: list[str] | None = None) -> tuple[Edges, int]:
    """Top ``knn_k`` items by cosine (the item itself included), ties by id asc, kept when
    cosine >= pure. Blockwise (``block`` rows of cosines at a time). Returns the kept edges
    and how many top-k neighbours the threshold cut. ``sources`` limits the rows to those
    items (a sample), still ranked against every item."""
    order = np.argsort(np.asarray(ids))
    ids_sorted = np.asarray(ids)[order]
    e = vectors[order].astype(np.float64)
    e /= np.linalg.norm(e, axis=1, keepdims=True)
    rows_of = (np.arange(len(ids_sorted)) if sources is None
               else np.searchsorted(ids_sorted, np.sort(np.asarray(sources))))
    wide = min(knn_k + 10, len(ids_sorted))  # candidates, then exact (cosine, id) order
    edges: Edges = {}
    cut = 0
    for start in range(0, len(rows_of), block):
        source_rows = rows_of[start:start + block]
        sims = e[source_rows] @ e.T
        cand = np.argpartition(-sims, wide - 1, axis=1)[:, :wide]
        rows = np.repeat(np.arange(len(sims)), wide)
        cols = cand.ravel()
        w = sims[rows, cols]
        keep = _top_per_row(rows, cols, w, knn_k)
        for a, b, cos in zip(rows[keep], cols[keep], w[keep]):
            if cos >= pure:
                edges[(ids_sorted[source_rows[a]], ids_sorted[b])] = float(cos)
            else:
                cut += 1
    return edges, cut


def assert_same_edges(got: Edges, want: Edges, tol: float = 1e-6) -> None:
    missing, extra = set(want) - set(got), set(got) - set(want)
    assert not missing and not extra, (
        f"{len(missing)} missing e.g. {sorted(missing)[:5]}, {len(extra)} extra e.g. {sorted(extra)[:5]}")
    worst = max((abs(got[k] - want[k]) for k in want), default=0.0)
    assert worst <= tol, f"largest weight difference {worst}"
