"""BPR: training triples (user, positive, negative) with uniform negatives, and the loss.

One triple per training interaction per epoch, in a fresh random order. The negative is drawn
uniformly from the items the user has NOT interacted with in the training split: rejected draws
are redrawn (vectorised), so the distribution is exactly uniform over the allowed items. The
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


class BPRSampler:
    """Draws shuffled BPR triples from a users x items training matrix."""

    def __init__(self, train: sp.csr_matrix, seed: int) -> None:
        coo = train.tocoo()
        self.users = coo.row.astype(np.int64)
        self.items = coo.col.astype(np.int64)
        self.n_items = train.shape[1]
        # Sorted keys user * n_items + item: membership test by binary search, no dense matrix.
        self._keys = np.sort(self.users * self.n_items + self.items)
        full = np.flatnonzero(np.diff(train.indptr) >= self.n_items)
        if len(full):
            raise ValueError(f"{len(full)} users interacted with every item: no negative exists")
        self.rng = np.random.default_rng(seed)

    def is_train(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        """Whether each (user, item) pair is a training interaction."""
        keys = users * self.n_items + items
        pos = np.minimum(np.searchsorted(self._keys, keys), len(self._keys) - 1)
        return self._keys[pos] == keys

    def negatives(self, users: np.ndarray) -> np.ndarray:
        """One uniform non-training item per user."""
        neg = self.rng.integers(0, self.n_items, size=len(users))
        bad = self.is_train(users, neg)
        while bad.any():
            neg[bad] = self.rng.integers(0, self.n_items, size=int(bad.sum()))
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
