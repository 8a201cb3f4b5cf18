"""Reference methods without learning, scored in the trainer's harness (same split, known
items masked, full ranking, the cold-start groups of :func:`~mllmrec.train.metrics.split_metrics`):

- ``popularity``: an item's number of training interactions, the same list for every user;
- ``text-knn-max`` / ``text-knn-mean``: the maximum / mean cosine between the candidate's text
  embedding and the text embeddings of the user's known items (training interactions, or a
  cold user's given ones). The mean is a dot product of the candidate's unit vector with the
  mean of the user's unit vectors;
- ``random``: random user and item vectors (seeded) scored by their dot product, what an ID
  model that never saw an item or user does with it.

None of them trains; they answer "how much of a model's cold-start quality would plain text
similarity (or popularity) give", on the same targets.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from mllmrec.db import Store
from mllmrec.errors import ConfigError
from mllmrec.train.data import TrainData, load_train_data
from mllmrec.train.metrics import Scorer, dot_scorer, split_metrics

REFERENCES = ("popularity", "text-knn-max", "text-knn-mean", "random")
RANDOM_DIM = 64


def reference_scorer(name: str, data: TrainData, seed: int = 2025) -> Scorer:
    """The scorer of reference method ``name`` on ``data`` (text-kNN needs ``item_feat``)."""
    if name == "popularity":
        counts = torch.from_numpy(np.asarray(data.train.sum(axis=0), dtype=np.float32).ravel())
        return lambda users: counts.expand(len(users), -1)
    if name == "random":
        g = torch.Generator().manual_seed(seed)
        return dot_scorer(torch.randn(data.n_users, RANDOM_DIM, generator=g),
                          torch.randn(data.n_items, RANDOM_DIM, generator=g))
    if name in ("text-knn-max", "text-knn-mean"):
        if data.item_feat is None:
            raise ConfigError("text-kNN needs the item text embeddings: run 'mllmrec embed'")
        unit = F.normalize(data.item_feat.float(), dim=1)
        known = data.known
        if name == "text-knn-mean":
            n_known = np.maximum(np.diff(known.indptr), 1).astype(np.float32)
            profile = torch.from_numpy(np.asarray(known @ unit.numpy()) / n_known[:, None])
            return dot_scorer(profile.float(), unit)
        unit_t = unit.t()

        def max_cosine(users: torch.Tensor) -> torch.Tensor:
            out = torch.zeros(len(users), data.n_items)
            for row, u in enumerate(users.tolist()):
                items = known.indices[known.indptr[u]:known.indptr[u + 1]]
                if len(items):
                    out[row] = (unit[torch.from_numpy(items.astype(np.int64))] @ unit_t).amax(dim=0)
            return out
        return max_cosine
    raise ConfigError(f"unknown reference method '{name}'; choose from {', '.join(REFERENCES)}")


def evaluate_reference(store: Store, dataset: str, name: str, ks: list[int],
                       batch_size: int = 1024, seed: int = 2025) -> dict[str, dict[str, float]]:
    """Metrics of reference method ``name`` on ``dataset``, per split and cold-start group."""
    if name not in REFERENCES:
        raise ConfigError(f"unknown reference method '{name}'; choose from {', '.join(REFERENCES)}")
    data = load_train_data(store, dataset, features=name.startswith("text-knn"), item_graph=False,
                           user_features=False)
    return split_metrics(reference_scorer(name, data, seed), torch.device("cpu"), data, ks, batch_size)
