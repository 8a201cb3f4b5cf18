"""Full-ranking top-K metrics (docs/method.md section 7).

Every item is ranked for every evaluated user; the user's training items are masked. Ties in
score are broken by item index (lower first, as a stable sort would), so a ranking never
depends on how users are batched. Definitions, per user with held-out set T and top-K list R:

- Recall@K = |R ∩ T| / |T|
- Precision@K = |R ∩ T| / K (K as asked, even when the catalogue is smaller)
- NDCG@K = sum_{r in R ∩ T} 1 / log2(rank(r) + 1) / IDCG, IDCG = sum_{p=1..min(|T|, K)} 1/log2(p+1)

Averages are over users that have at least one held-out item. Per-user values are collected in
user order and averaged once, so the numbers are identical for every evaluation batch size.

Cold-start datasets (docs/train.md, Cold start) also mask each cold user's given interactions
(never scored) and report every split per group of targets (:func:`cold_groups`): warm targets,
cold items ranked among all items, cold items ranked among cold items only, cold users.

Cost: users are scored in blocks on the representations' device; training items are masked by
a scatter of the block's sparse training rows, the best ``max(ks)`` items come from
``torch.topk`` (no full sort), and hits are looked up in the sorted sparse keys of the held-out
pairs (no dense users x items truth matrix).
"""
from __future__ import annotations

from collections.abc import Callable
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


#: Scores of a block of users (indices on the scoring device) for every item: ``b x N``.
Scorer = Callable[[torch.Tensor], torch.Tensor]


def dot_scorer(user_repr: torch.Tensor, item_repr: torch.Tensor) -> Scorer:
    """``user_repr[users] @ item_repr.T``: how every model of the trainer scores."""
    item_t = item_repr.t()
    return lambda users: user_repr[users] @ item_t


#: Targets of one group: held-out items (users x items) and the candidate items (None: all).
Group = tuple[sp.csr_matrix, np.ndarray | None]


def per_user(score: Scorer, device: torch.device, known: sp.csr_matrix, heldout: sp.csr_matrix,
             ks: list[int], batch_size: int = 1024, candidates: np.ndarray | None = None
             ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Per-user metrics of every user with held-out items (returned first, in index order):
    every item ranked by ``score``, the user's ``known`` items masked, and with
    ``candidates`` (a bool per item) only those items ranked (the others masked too)."""
    return per_user_groups(score, device, known, {"": (heldout, candidates)}, ks, batch_size)[""]


def per_user_groups(score: Scorer, device: torch.device, known: sp.csr_matrix,
                    groups: dict[str, Group], ks: list[int], batch_size: int = 1024
                    ) -> dict[str, tuple[np.ndarray, dict[str, np.ndarray]]]:
    """:func:`per_user` of several groups of targets in one scoring pass: each block of users
    is scored once, its known items masked, then ranked per group (a scorer that does not
    learn, such as text-kNN's max cosine, costs far more than ranking)."""
    ks = sorted(set(ks))
    known = sp.csr_matrix(known)
    truths = {g: sp.csr_matrix(h) for g, (h, _) in groups.items()}
    users = {g: np.flatnonzero(np.diff(t.indptr) > 0) for g, t in truths.items()}
    values = {g: {f"{m}@{k}": np.zeros(len(u)) for m in METRICS for k in ks} for g, u in users.items()}
    excluded = {g: None if c is None else torch.from_numpy(np.flatnonzero(~c)).to(device)
                for g, (_, c) in groups.items()}
    every = np.unique(np.concatenate([np.zeros(0, np.int64), *users.values()]))
    with torch.no_grad():
        for start in range(0, len(every), batch_size):
            batch = every[start:start + batch_size]
            scores = score(torch.as_tensor(batch, device=device)).clone()
            scores.index_put_(_pairs(known[batch], scores.device),
                              torch.tensor(-torch.inf, device=scores.device))
            for g, mine in users.items():
                # the group's users in this block: a run of its sorted list
                lo, hi = np.searchsorted(mine, [batch[0], batch[-1] + 1])
                if lo == hi:
                    continue
                if hi - lo == len(batch) and excluded[g] is None:
                    ranked = scores  # every user of the block, nothing more to mask: no copy
                else:
                    rows = torch.as_tensor(np.searchsorted(batch, mine[lo:hi]), device=scores.device)
                    ranked = scores[rows]
                    if excluded[g] is not None:
                        ranked[:, excluded[g]] = -torch.inf
                truth = truths[g][mine[lo:hi]]
                hits = _hits(top_k(ranked, max(ks)), truth).cpu().numpy()
                for name, v in user_metrics(hits, np.diff(truth.indptr), ks).items():
                    values[g][name][lo:hi] = v
    return {g: (users[g], values[g]) for g in groups}


def _averages(users: np.ndarray, values: dict[str, np.ndarray]) -> dict[str, float]:
    """The means of :func:`per_user`'s values: ``{"recall@20": ..., ..., "users": n}``."""
    result: dict[str, float] = {name: float(v.mean()) if len(users) else 0.0
                                for name, v in values.items()}
    result["users"] = len(users)
    return result


def evaluate_scores(score: Scorer, device: torch.device, known: sp.csr_matrix,
                    heldout: sp.csr_matrix, ks: list[int], batch_size: int = 1024,
                    candidates: np.ndarray | None = None) -> dict[str, float]:
    """The averages of :func:`per_user`: ``{"recall@20": ..., ..., "users": n}``."""
    return _averages(*per_user(score, device, known, heldout, ks, batch_size, candidates))


def evaluate(user_repr: torch.Tensor, item_repr: torch.Tensor, train: sp.csr_matrix,
             heldout: sp.csr_matrix, ks: list[int], batch_size: int = 1024,
             candidates: np.ndarray | None = None) -> dict[str, float]:
    """Rank every item for every user with held-out items by ``user_repr @ item_repr.T``,
    mask training items (``train``: what to mask), and average the metrics. ``train`` and
    ``heldout`` are users x items 0/1 matrices. Returns ``{"recall@20": ..., ..., "users": n}``."""
    return evaluate_scores(dot_scorer(user_repr, item_repr), user_repr.device, train, heldout,
                           ks, batch_size, candidates)


def cold_groups(data: TrainData, split: int) -> dict[str, Group]:
    """The held-out targets of a split of a cold-start dataset by group, each with its
    candidate items (None: all items):

    - ``warm``: warm users' targets among warm items, ranked among all items;
    - ``cold_items``: warm users' targets among cold items, ranked among all items;
    - ``cold_among_cold``: the same targets ranked among the cold items only (the usual
      cold-start protocol);
    - ``cold_users``: every target of the cold users, ranked among all items.

    Groups without any user are left out."""
    heldout = data.splits[split]
    n_users, n_items = heldout.shape
    cu = data.cold_users if data.cold_users is not None else np.zeros(n_users, dtype=bool)
    ci = data.cold_items if data.cold_items is not None else np.zeros(n_items, dtype=bool)

    def part(rows: np.ndarray, cols: np.ndarray) -> sp.csr_matrix:
        m = (sp.diags(rows.astype(np.float32)) @ heldout @ sp.diags(cols.astype(np.float32))).tocsr()
        m.eliminate_zeros()
        return m

    groups: dict[str, Group] = {"warm": (part(~cu, ~ci), None)}
    if ci.any():
        cold = part(~cu, ci)
        groups["cold_items"] = (cold, None)
        groups["cold_among_cold"] = (cold, ci)
    if cu.any():
        groups["cold_users"] = (part(cu, np.ones(n_items, dtype=bool)), None)
    return {name: g for name, g in groups.items() if g[0].nnz}


def split_metrics(score: Scorer, device: torch.device, data: TrainData, ks: list[int],
                  batch_size: int, test: bool = True) -> dict[str, dict[str, float]]:
    """Validation and test metrics (``valid``, ``test``: every target) and, on a cold-start
    dataset, the same per group of :func:`cold_groups` (``valid_warm``, ``test_cold_items``,
    ``test_cold_among_cold``, ``test_cold_users``, ...). Known items (training and given
    interactions) are always masked. ``test=False``: validation only (a tuning trial, whose
    data holds no test interactions)."""
    from mllmrec.train.data import TEST, VALID

    out: dict[str, dict[str, float]] = {}
    for name, split in (("valid", VALID), ("test", TEST)) if test else (("valid", VALID),):
        groups: dict[str, Group] = {name: (data.splits[split], None)}
        if data.cold:
            groups.update({f"{name}_{g}": targets for g, targets in cold_groups(data, split).items()})
        for key, (users, values) in per_user_groups(score, device, data.known, groups, ks,
                                                    batch_size).items():
            out[key] = _averages(users, values)
    return out


def evaluate_model(model: Recommender, data: TrainData, split: int, ks: list[int],
                   batch_size: int) -> dict[str, float]:
    """Full-ranking metrics of ``model`` on a split of ``data`` (known items masked)."""
    model.eval()
    with torch.no_grad():
        users, items = model.all_repr()
        return evaluate(users, items, data.known, data.splits[split], ks, batch_size)


def evaluate_splits(model: Recommender, data: TrainData, ks: list[int], batch_size: int,
                    test: bool = True) -> dict[str, dict[str, float]]:
    """:func:`split_metrics` of a model."""
    model.eval()
    with torch.no_grad():
        users, items = model.all_repr()
        return split_metrics(dot_scorer(users, items), users.device, data, ks, batch_size, test)
