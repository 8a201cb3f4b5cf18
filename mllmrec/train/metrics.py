"""Full-ranking top-K metrics (METHOD.md section 7).

Every item is ranked for every evaluated user; the user's training items are masked. Ties in
score are broken by item index (lower first: a stable sort), so a ranking never depends on how
users are batched. Definitions, per user with held-out set T and top-K list R:

- Recall@K = |R ∩ T| / |T|
- Precision@K = |R ∩ T| / K (K as asked, even when the catalogue is smaller)
- NDCG@K = sum_{r in R ∩ T} 1 / log2(rank(r) + 1) / IDCG, IDCG = sum_{p=1..min(|T|, K)} 1/log2(p+1)

Averages are over users that have at least one held-out item. Per-user values are collected in
user order and averaged once, so the numbers are identical for every evaluation batch size.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import torch

METRICS = ("recall", "ndcg", "precision")


def top_k(scores: torch.Tensor, k: int) -> torch.Tensor:
    """Indices of the ``k`` best items per row (``k`` clipped to the number of items);
    equal scores keep item order."""
    k = min(k, scores.shape[1])
    order = torch.sort(scores, dim=1, descending=True, stable=True).indices
    return order[:, :k]


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


def evaluate(user_repr: torch.Tensor, item_repr: torch.Tensor, train: sp.csr_matrix,
             heldout: sp.csr_matrix, ks: list[int], batch_size: int = 1024) -> dict[str, float]:
    """Rank every item for every user with held-out items by ``user_repr @ item_repr.T``,
    mask training items, and average the metrics. ``train`` and ``heldout`` are users x items
    0/1 matrices. Returns ``{"recall@20": ..., ..., "users": n}``."""
    ks = sorted(set(ks))
    users = np.flatnonzero(np.diff(heldout.indptr) > 0)
    per_user = {f"{m}@{k}": np.zeros(len(users)) for m in METRICS for k in ks}
    item_t = item_repr.t()
    with torch.no_grad():
        for start in range(0, len(users), batch_size):
            batch = users[start:start + batch_size]
            scores = user_repr[torch.as_tensor(batch, device=user_repr.device)] @ item_t
            seen = train[batch].tocoo()
            scores[torch.as_tensor(seen.row, device=scores.device),
                   torch.as_tensor(seen.col, device=scores.device)] = -torch.inf
            top = top_k(scores, max(ks)).cpu().numpy()
            truth = heldout[batch]
            hits = np.take_along_axis(truth.toarray() > 0, top, axis=1)
            for name, values in user_metrics(hits, np.diff(truth.indptr), ks).items():
                per_user[name][start:start + len(batch)] = values
    result: dict[str, float] = {name: float(v.mean()) if len(users) else 0.0
                                for name, v in per_user.items()}
    result["users"] = int(len(users))
    return result
