"""Full-ranking top-K metrics (docs/method.md section 7).

Every item is ranked for every evaluated user; the user's training items are masked. Ties in
score are broken by item index (lower first, as a stable sort would), so a ranking never
depends on how users are batched. Definitions, per user with held-out set T and top-K list R:

- Recall@K = |R ∩ T| / |T|
- Precision@K = |R ∩ T| / K (K as asked, even when the catalogue is smaller)
- NDCG@K = sum_{r in R ∩ T} 1 / log2(rank(r) + 1) / IDCG, IDCG = sum_{p=1..min(|T|, K)} 1/log2(p+1)

Averages are over users that have at least one held-out item. Per-user values are collected in
user order and averaged once, so the numbers are identical for every evaluation batch size.

Cost: users are scored in blocks on the representations' device; training items are masked by
a scatter of the block's sparse training rows, the best ``max(ks)`` items come from
``torch.topk`` (no full sort), and hits are looked up in the sorted sparse keys of the held-out
pairs (no dense users x items truth matrix).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp
import torch

if TYPE_CHECKING:
    from mllmrec.train.data import TrainData
    from mllmrec.train.model import Recommender

METRICS = ("recall", "ndcg", "precision")
STOP_METRIC = "recall@20"  # the validation metric that chooses the best epoch


def top_k(scores: torch.Tensor, k: int) -> torch.Tensor:
    """Indices of the ``k`` best items per row (``k`` clipped to the number of items), in the
    order of a stable descending sort: equal scores keep item order.

    ``torch.topk`` of ``k + 1`` items finds the candidates; within them ties are ordered by
    index. A row whose ``k``-th and ``k+1``-th scores are equal has a tie across the cut (the
    kept items must then be the lowest-indexed ones): only such rows are fully sorted."""
    n = scores.shape[1]
    k = min(k, n)
    if k == 0:
        return torch.empty((scores.shape[0], 0), dtype=torch.int64, device=scores.device)
    vals, idx = torch.topk(scores, min(k + 1, n), dim=1, sorted=True)
    by_index = torch.argsort(idx, dim=1)
    vals, idx = vals.gather(1, by_index), idx.gather(1, by_index)
    order = torch.sort(vals, dim=1, descending=True, stable=True).indices
    top = idx.gather(1, order)[:, :k]
    if k < n:
        kth = vals.gather(1, order[:, k - 1:k + 1])
        tied = torch.nonzero(kth[:, 0] == kth[:, 1]).flatten()
        if len(tied):
            top[tied] = torch.sort(scores[tied], dim=1, descending=True, stable=True).indices[:, :k]
    return top


def user_metrics(hits: np.ndarray, n_heldout: np.ndarray, ks: list[int]) -> dict[str, np.ndarray]:
    """Per-user metrics from a boolean hit matrix (users x ranked positions, best first) and
    the number of held-out items of each user (> 0)."""
    hits = hits.astype(np.float64)
    n_heldout = n_heldout.astype(np.float64)
    discount = 1.0 / np.log2(np.arange(2, max(ks) + 2))
    ideal_cum = np.cumsum(discount)
    out: dict[str, np.ndarray] = {}
    for k in ks:
        h = hits[:, :k]
        n_hit = h.sum(axis=1)
        dcg = (h * discount[: h.shape[1]]).sum(axis=1)
        idcg = ideal_cum[np.minimum(n_heldout, k).astype(np.int64) - 1]
        out[f"recall@{k}"] = n_hit / n_heldout
        out[f"precision@{k}"] = n_hit / k
        out[f"ndcg@{k}"] = dcg / idcg
    return out


def _pairs(rows: sp.csr_matrix, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """(row, column) index tensors of the stored entries of a CSR block, on ``device``."""
    counts = torch.from_numpy(np.diff(rows.indptr).astype(np.int64))
    row = torch.repeat_interleave(torch.arange(rows.shape[0]), counts)
    return row.to(device), torch.from_numpy(rows.indices.astype(np.int64)).to(device)


def _hits(top: torch.Tensor, truth: sp.csr_matrix) -> torch.Tensor:
    """Whether each ranked item ``top[r, p]`` is a held-out item of row ``r`` of ``truth``:
    a binary search of the keys ``row * n_items + item`` (sorted) of the held-out pairs."""
    n_items = truth.shape[1]
    row, col = _pairs(truth, top.device)
    keys = torch.sort(row * n_items + col).values
    query = torch.arange(top.shape[0], device=top.device)[:, None] * n_items + top
    pos = torch.searchsorted(keys, query).clamp(max=len(keys) - 1)
    return keys[pos] == query


def evaluate(user_repr: torch.Tensor, item_repr: torch.Tensor, train: sp.csr_matrix,
             heldout: sp.csr_matrix, ks: list[int], batch_size: int = 1024) -> dict[str, float]:
    """Rank every item for every user with held-out items by ``user_repr @ item_repr.T``,
    mask training items, and average the metrics. ``train`` and ``heldout`` are users x items
    0/1 matrices. Returns ``{"recall@20": ..., ..., "users": n}``."""
    ks = sorted(set(ks))
    train, heldout = sp.csr_matrix(train), sp.csr_matrix(heldout)
    users = np.flatnonzero(np.diff(heldout.indptr) > 0)
    per_user = {f"{m}@{k}": np.zeros(len(users)) for m in METRICS for k in ks}
    item_t = item_repr.t()
    device = user_repr.device
    with torch.no_grad():
        for start in range(0, len(users), batch_size):
            batch = users[start:start + batch_size]
            scores = user_repr[torch.as_tensor(batch, device=device)] @ item_t
            scores.index_put_(_pairs(train[batch], scores.device),
                              torch.tensor(-torch.inf, device=scores.device))
            truth = heldout[batch]
            hits = _hits(top_k(scores, max(ks)), truth).cpu().numpy()
            for name, values in user_metrics(hits, np.diff(truth.indptr), ks).items():
                per_user[name][start:start + len(batch)] = values
    result: dict[str, float] = {name: float(v.mean()) if len(users) else 0.0
                                for name, v in per_user.items()}
    result["users"] = len(users)
    return result


def evaluate_model(model: Recommender, data: TrainData, split: int, ks: list[int],
                   batch_size: int) -> dict[str, float]:
    """Full-ranking metrics of ``model`` on a split of ``data`` (training items masked)."""
    model.eval()
    with torch.no_grad():
        users, items = model.all_repr()
        return evaluate(users, items, data.train, data.splits[split], ks, batch_size)
