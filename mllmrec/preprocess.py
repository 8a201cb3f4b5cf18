"""Preprocessing before ingestion: iterated k-core filtering and the per-user random split
of docs/method.md section 1."""
from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd

TRAIN, VALID, TEST = 0, 1, 2


def kcore(inter: pd.DataFrame, k: int) -> pd.DataFrame:
    """Drop users and items with fewer than ``k`` interactions, repeatedly, until every
    remaining user and item has at least ``k``."""
    if k <= 1:
        return inter
    out = inter
    while True:
        users = out["user_id"].map(out["user_id"].value_counts())
        items = out["item_id"].map(out["item_id"].value_counts())
        keep = (users >= k) & (items >= k)
        if keep.all():
            return out.reset_index(drop=True)
        out = out[keep]


def split_sizes(n: int) -> tuple[int, int, int]:
    """(train, valid, test) sizes for a user with ``n`` interactions: n < 10 gives n-2/1/1;
    n >= 10 holds out floor(0.2 n), half of it (floored) validation. Users with fewer than
    3 interactions keep everything in training."""
    if n < 3:
        return n, 0, 0
    if n < 10:
        return n - 2, 1, 1
    held = int(np.floor(0.2 * n))
    valid = held // 2
    return n - held, valid, held - valid


def split_per_user(inter: pd.DataFrame, seed: int) -> pd.Series:
    """Split labels (0 train, 1 valid, 2 test) for each interaction, random per user.

    Each user's interactions are put in a pseudo-random order by a seeded hash of
    (user, item), so a user's split depends only on the seed and that user's own items:
    adding other users' data never reshuffles it.
    """
    order = pd.DataFrame({"user": inter["user_id"].to_numpy(), "h": _seeded_hash(inter, seed)},
                         index=inter.index)
    rank = order.groupby("user")["h"].rank(method="first").astype(np.int64) - 1
    n = order.groupby("user")["h"].transform("size").to_numpy()
    sizes = np.array([split_sizes(int(m)) for m in range(int(n.max()) + 1)])
    n_train = sizes[n, 0]
    n_valid = sizes[n, 1]
    r = rank.to_numpy()
    labels = np.where(r < n_train, TRAIN, np.where(r < n_train + n_valid, VALID, TEST))
    return pd.Series(labels.astype(np.int8), index=inter.index, name="split")


def _seeded_hash(inter: pd.DataFrame, seed: int) -> np.ndarray:
    """The seeded hash of each (user, item) that orders a user's interactions."""
    key = hashlib.blake2b(str(seed).encode(), digest_size=8).hexdigest()
    return pd.util.hash_pandas_object(inter[["user_id", "item_id"]], index=False,
                                      hash_key=key).to_numpy()


def split_incremental(inter: pd.DataFrame, existing: pd.DataFrame, seed: int) -> pd.Series:
    """Split labels for an ingest into a dataset that already holds labelled interactions.

    Rule (incremental ingest, e.g. new data arriving before a retrain):
    - an interaction already in ``existing`` (columns user_id, item_id, split) keeps its
      label: relabelling it could move a held-out item a served model was selected on into
      training, or a trained one into the test set;
    - each user's new interactions fill the gaps between the user's current label counts and
      ``split_sizes(total)``: the number going to each split is chosen one at a time for the
      split furthest below its target (train first on ties), so the per-user proportions of
      docs/method.md section 1 hold whenever the old labels allow it (they cannot when a split
      already exceeds its new target: old labels never move);
    - which new interactions get which label follows the same seeded (user, item) hash order
      as :func:`split_per_user` (train block first, then valid, then test), so a brand-new
      user is split exactly as a fresh ingest would split them.
    """
    # A pair stored twice (a duplicate left by an older, unlocked concurrent ingest) must not
    # multiply rows in the merge below: its first label counts.
    existing = existing.drop_duplicates(["user_id", "item_id"])
    known = inter[["user_id", "item_id"]].merge(
        existing[["user_id", "item_id", "split"]], on=["user_id", "item_id"], how="left")
    labels = known["split"].to_numpy(dtype="float64", na_value=np.nan, copy=True)
    new = np.isnan(labels)
    have = existing.groupby("user_id")["split"].value_counts().unstack(fill_value=0)
    have = have.reindex(columns=[TRAIN, VALID, TEST], fill_value=0)
    order = pd.DataFrame({"user": inter["user_id"].to_numpy()[new],
                          "h": _seeded_hash(inter, seed)[new], "pos": np.flatnonzero(new)})
    for user, rows in order.sort_values(["user", "h"]).groupby("user", sort=False):
        current = have.loc[user].to_numpy() if user in have.index else np.zeros(3, np.int64)
        counts = _fill_counts(current, len(rows))
        labels[rows["pos"].to_numpy()] = np.repeat([TRAIN, VALID, TEST], counts)
    return pd.Series(labels.astype(np.int8), index=inter.index, name="split")


def _fill_counts(current: np.ndarray, m: int) -> np.ndarray:
    """How many of a user's ``m`` new interactions go to train, valid and test."""
    target = np.array(split_sizes(int(current.sum()) + m))
    counts = np.zeros(3, np.int64)
    for _ in range(m):
        gap = target - current - counts
        counts[int(np.argmax(gap))] += 1  # argmax takes the first (train) on ties
    return counts
