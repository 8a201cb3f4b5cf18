"""BPR: training triples (user, positive, negative) with uniform negatives, and the loss.

One triple per training interaction per epoch, in a fresh random order. The negative is drawn
uniformly from the sampler's pool minus the items the user has interacted with in the training
split: rejected draws are redrawn (vectorised), so the distribution is exactly uniform over the
allowed items. The pool is ``train.negatives``: ``all`` items of the dataset, or only the items
with at least one training interaction (``interacted``, as the authors' code samples). With
``all``, an item without training interactions (a cold item of the cold-start protocol) is only
ever a negative, so a model learns to rank it low; with ``interacted`` it is never drawn. The
sampler draws from its own generator seeded by ``train.seed`` (numpy's global state plays no
part), so the triples of a seed are the same in every run and on every data-parallel rank.
"""
from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import scipy.sparse as sp
import torch
import torch.nn.functional as F


def bpr_loss(u: torch.Tensor, pos: torch.Tensor, neg: torch.Tensor,
             denom: float | None = None) -> torch.Tensor:
    """-sum log sigmoid(s(u, pos) - s(u, neg)) / denom; ``denom`` defaults to the batch size
    (the mean). A data-parallel rank passes global batch / ranks
    (:func:`mllmrec.train.distributed.shard`)."""
    total = -F.logsigmoid((u * pos).sum(-1) - (u * neg).sum(-1)).sum()
    return total / (len(u) if denom is None else denom)


NEGATIVE_POOLS = ("all", "interacted")


def negative_pool(train: sp.csr_matrix, pool: str) -> np.ndarray:
    """The item indices negatives are drawn from: every item (``all``), or the items with at
    least one training interaction (``interacted``), in index order."""
    if pool == "all":
        return np.arange(train.shape[1], dtype=np.int64)
    if pool == "interacted":
        return np.flatnonzero(np.diff(sp.csc_matrix(train).indptr) > 0).astype(np.int64)
    raise ValueError(f"unknown negative pool '{pool}'; choose from {', '.join(NEGATIVE_POOLS)}")


class BPRSampler:
    """Draws shuffled BPR triples from a users x items training matrix; negatives come from
    ``pool`` (:func:`negative_pool`)."""

    def __init__(self, train: sp.csr_matrix, seed: int, pool: str = "all") -> None:
        train = sp.csr_matrix(train)
        coo = train.tocoo()
        self.users = coo.row.astype(np.int64)
        self.items = coo.col.astype(np.int64)
        self.n_items = train.shape[1]
        self.pool = negative_pool(train, pool)
        # Sorted keys user * n_items + item: membership test by binary search, no dense matrix.
        self._keys = np.sort(self.users * self.n_items + self.items)
        # A user's training items all lie in the pool (both pools contain every trained item).
        full = np.flatnonzero(np.diff(train.indptr) >= len(self.pool))
        if len(full):
            raise ValueError(f"{len(full)} users interacted with every item of the negative "
                             f"pool ({pool}): no negative exists")
        self.rng = np.random.default_rng(seed)

    def is_train(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        """Whether each (user, item) pair is a training interaction."""
        keys = users * self.n_items + items
        pos = np.minimum(np.searchsorted(self._keys, keys), len(self._keys) - 1)
        return self._keys[pos] == keys

    def negatives(self, users: np.ndarray) -> np.ndarray:
        """One uniform item of the pool per user, never one of the user's training items."""
        neg = self.pool[self.rng.integers(0, len(self.pool), size=len(users))]
        bad = self.is_train(users, neg)
        while bad.any():
            neg[bad] = self.pool[self.rng.integers(0, len(self.pool), size=int(bad.sum()))]
            bad[bad] = self.is_train(users[bad], neg[bad])
        return neg

    def __len__(self) -> int:
        return len(self.users)

    def epoch(self, batch_size: int) -> Iterator[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
        """Yield (users, positives, negatives) batches covering every training interaction once."""
        order = self.rng.permutation(len(self.users))
        for start in range(0, len(order), batch_size):
            idx = order[start:start + batch_size]
            u = self.users[idx]
            yield (torch.from_numpy(u), torch.from_numpy(self.items[idx]),
                   torch.from_numpy(self.negatives(u)))
