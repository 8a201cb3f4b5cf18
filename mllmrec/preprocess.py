"""Preprocessing before ingestion: iterated k-core filtering and the per-user random split
of METHOD.md section 1."""
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
    key = hashlib.blake2b(str(seed).encode(), digest_size=8).hexdigest()
    hashed = pd.util.hash_pandas_object(inter[["user_id", "item_id"]], index=False, hash_key=key)
    order = pd.DataFrame({"user": inter["user_id"].to_numpy(), "h": hashed.to_numpy()},
                         index=inter.index)
    rank = order.groupby("user")["h"].rank(method="first").astype(np.int64) - 1
    n = order.groupby("user")["h"].transform("size").to_numpy()
    sizes = np.array([split_sizes(int(m)) for m in range(int(n.max()) + 1)])
    n_train = sizes[n, 0]
    n_valid = sizes[n, 1]
    r = rank.to_numpy()
    labels = np.where(r < n_train, TRAIN, np.where(r < n_train + n_valid, VALID, TEST))
    return pd.Series(labels.astype(np.int8), index=inter.index, name="split")
