"""Preprocessing before ingestion: iterated k-core filtering, the per-user random split of
docs/method.md section 1, and the cold-start split (:func:`split_cold`)."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import pandas as pd

TRAIN, VALID, TEST = 0, 1, 2
#: A cold user's given interaction (cold-start protocol): the user's preference text is built
#: from it, but no model trains on it, no graph build reads it, and it is never scored (it is
#: masked at evaluation like a training item).
GIVEN = 3


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


@dataclass(frozen=True)
class ColdSplit:
    """Split labels of the cold-start protocol and the entities held out."""

    labels: pd.Series  # per interaction: TRAIN / VALID / TEST / GIVEN
    cold_items: frozenset[str]
    cold_users: frozenset[str]


def split_cold(inter: pd.DataFrame, seed: int, cold_items: float, cold_users: float,
               given: int) -> ColdSplit:
    """The cold-start split: a seeded fraction of items and of users held out entirely.

    - Cold items: ``round(cold_items * items)`` items chosen by a seeded hash of their ids.
      None of their interactions is in training: each user's interactions with cold items go
      to validation and test, half and half as the warm split does with its held-out part
      (``floor(m/2)`` validation, the rest test, in the seeded (user, item) hash order).
    - Cold users: ``round(cold_users * users)`` users chosen likewise. A cold user's
      ``given`` oldest interactions with warm items (by timestamp, ties and missing ones in
      hash order) are labelled :data:`GIVEN`: the user's preference text is built from them,
      as an operator would from a new user's first clicks, but they are neither trained on
      nor scored. The user's other interactions go to validation and test (halves as above).
      A cold item never becomes a given interaction, so no user text names a cold item.
    - Everything else (warm users with warm items) is split by :func:`split_per_user`, on
      the warm interactions only.

    Depends only on the seed and the interactions, so re-running an ingest repeats it."""
    items = pd.unique(inter["item_id"])
    users = pd.unique(inter["user_id"])
    cold_i = _seeded_pick(items, seed, "items", cold_items)
    cold_u = _seeded_pick(users, seed, "users", cold_users)
    item_cold = inter["item_id"].isin(cold_i).to_numpy()
    user_cold = inter["user_id"].isin(cold_u).to_numpy()
    labels = np.full(len(inter), -1, dtype=np.int8)
    warm = ~item_cold & ~user_cold
    if warm.any():
        labels[warm] = split_per_user(inter[warm], seed).to_numpy()
    h = _seeded_hash(inter, seed)
    if user_cold.any():
        ts = pd.to_numeric(inter["ts"], errors="coerce").to_numpy(dtype="float64", na_value=np.inf) \
            if "ts" in inter else np.full(len(inter), np.inf)
        cand = pd.DataFrame({"user": inter["user_id"].to_numpy(), "ts": ts, "h": h,
                             "pos": np.arange(len(inter))})[user_cold & ~item_cold]
        cand = cand.sort_values(["user", "ts", "h"], kind="stable")
        first = cand.groupby("user", sort=False).cumcount().to_numpy() < given
        labels[cand["pos"].to_numpy()[first]] = GIVEN
    rest = labels < 0  # cold-item interactions, and cold users' interactions beyond the given
    if rest.any():
        frame = pd.DataFrame({"user": inter["user_id"].to_numpy()[rest], "h": h[rest]})
        rank = frame.groupby("user")["h"].rank(method="first").to_numpy() - 1
        n = frame.groupby("user")["h"].transform("size").to_numpy()
        labels[rest] = np.where(rank < n // 2, VALID, TEST)
    return ColdSplit(pd.Series(labels, index=inter.index, name="split"),
                     frozenset(map(str, cold_i)), frozenset(map(str, cold_u)))


def _seeded_pick(ids: np.ndarray, seed: int, salt: str, fraction: float) -> np.ndarray:
    """``round(fraction * len(ids))`` of ``ids``, the smallest by a hash seeded by ``seed``
    and ``salt`` (items and users are drawn independently)."""
    n = int(round(fraction * len(ids)))
    if n == 0:
        return ids[:0]
    key = hashlib.blake2b(f"{seed}:{salt}".encode(), digest_size=8).hexdigest()
    h = pd.util.hash_pandas_object(pd.Series(ids, dtype=object).astype(str), index=False,
                                   hash_key=key).to_numpy()
    return ids[np.argsort(h, kind="stable")[:n]]
