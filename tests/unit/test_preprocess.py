"""k-core filtering against a plain Counter loop, and the per-user split (docs/method.md section 1)
against hand-computed sizes, seeds and stability when other users are added."""
from __future__ import annotations

import collections

import numpy as np
import pandas as pd
import pytest

from mllmrec.preprocess import GIVEN, TEST, TRAIN, VALID, kcore, split_cold, split_incremental, split_per_user


def _random_interactions(seed: int, n: int = 3000, users: int = 300, items: int = 150) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    u = rng.zipf(1.6, n) % users  # skewed, as real data: many users and items near the cut
    i = rng.zipf(1.4, n) % items
    df = pd.DataFrame({"user_id": [f"u{x}" for x in u], "item_id": [f"i{x}" for x in i]})
    return df.drop_duplicates().reset_index(drop=True)


def _kcore_reference(pairs: list[tuple[str, str]], k: int) -> set[tuple[str, str]]:
    """Drop pairs whose user or item has fewer than k pairs, until nothing changes."""
    kept = set(pairs)
    while True:
        users = collections.Counter(u for u, _ in kept)
        items = collections.Counter(i for _, i in kept)
        nxt = {(u, i) for u, i in kept if users[u] >= k and items[i] >= k}
        if nxt == kept:
            return kept
        kept = nxt


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("k", [2, 3, 5])
def test_kcore_matches_reference(seed, k):
    df = _random_interactions(seed)
    got = kcore(df, k)
    want = _kcore_reference(list(zip(df["user_id"], df["item_id"])), k)
    assert set(zip(got["user_id"], got["item_id"])) == want
    assert len(got) == len(want) and 0 < len(want) < len(df)  # the filter did something
    assert got["user_id"].value_counts().min() >= k and got["item_id"].value_counts().min() >= k


def test_kcore_off_and_empty_result():
    df = _random_interactions(3)
    assert kcore(df, 0).equals(df) and kcore(df, 1).equals(df)
    assert len(kcore(df, 10_000)) == 0


def _expected_sizes(n: int) -> tuple[int, int, int]:
    if n < 3:
        return n, 0, 0  # too few to hold anything out: all training
    if n < 10:
        return n - 2, 1, 1
    held = (2 * n) // 10  # floor(0.2 n) in integers
    return n - held, held // 2, held - held // 2


def _per_user(df: pd.DataFrame, labels: pd.Series) -> dict[str, tuple[int, int, int]]:
    out: dict[str, list[int]] = collections.defaultdict(lambda: [0, 0, 0])
    for u, s in zip(df["user_id"], labels):
        out[u][int(s)] += 1
    return {u: tuple(v) for u, v in out.items()}


def _users_with_sizes(sizes: list[int]) -> pd.DataFrame:
    return pd.DataFrame([(f"user{k}", f"item{j}") for k, n in enumerate(sizes) for j in range(n)],
                        columns=["user_id", "item_id"])


def test_split_sizes_per_user():
    sizes = [1, 2, 3, 4, 9, 10, 11, 14, 15, 19, 20, 37, 100]
    df = _users_with_sizes(sizes)
    got = _per_user(df, split_per_user(df, seed=7))
    assert got == {f"user{k}": _expected_sizes(n) for k, n in enumerate(sizes)}
    # hand-checked corners of the rule
    assert got["user2"] == (1, 1, 1) and got["user5"] == (8, 1, 1)
    assert got["user8"] == (12, 1, 2) and got["user11"] == (30, 3, 4)


def test_split_is_deterministic_per_seed_and_seed_matters():
    df = _random_interactions(5, n=5000, users=100, items=400)
    a, b = split_per_user(df, seed=1), split_per_user(df, seed=1)
    assert a.equals(b)
    c = split_per_user(df, seed=2)
    assert (a != c).mean() > 0.05
    assert _per_user(df, a) == _per_user(df, c)  # sizes depend on n only


def test_user_split_stable_when_other_users_are_added_or_rows_reordered():
    base = _random_interactions(8, n=4000, users=80, items=500)
    few = base[base["user_id"].isin(["u1", "u2", "u3"])].reset_index(drop=True)
    labels_few = dict(zip(zip(few["user_id"], few["item_id"]), split_per_user(few, 11)))
    shuffled = base.sample(frac=1.0, random_state=3).reset_index(drop=True)
    labels_all = dict(zip(zip(shuffled["user_id"], shuffled["item_id"]), split_per_user(shuffled, 11)))
    assert {key: labels_all[key] for key in labels_few} == labels_few
    assert len(labels_few) > 30


def test_incremental_split_survives_pairs_stored_twice():
    """A dataset holding a pair twice (left by two concurrent ingests before the dataset
    lock existed) is re-ingested: the stored label is kept, nothing is mislabelled."""
    existing = pd.DataFrame({"user_id": ["u1", "u1", "u1"], "item_id": ["a", "a", "b"],
                             "split": [2, 2, 0]})
    inter = pd.DataFrame({"user_id": ["u1"] * 4, "item_id": ["a", "b", "c", "d"]})
    labels = split_incremental(inter, existing, seed=1)
    assert len(labels) == 4
    assert labels.tolist()[:2] == [2, 0]


def _with_ts(seed: int) -> pd.DataFrame:
    df = _random_interactions(seed, n=4000, users=120, items=90)
    rng = np.random.default_rng(seed + 10)
    ts = pd.array(rng.integers(0, 50, len(df)), dtype="Int64")  # ties on purpose
    ts[rng.random(len(df)) < 0.1] = pd.NA  # some missing
    return df.assign(ts=ts)


@pytest.mark.parametrize("seed", [1, 2])
def test_cold_split_holds_out_items_and_users_entirely(seed):
    df = _with_ts(seed)
    out = split_cold(df, seed, cold_items=0.2, cold_users=0.25, given=3)
    labels = out.labels.to_numpy()
    n_items, n_users = df["item_id"].nunique(), df["user_id"].nunique()
    assert len(out.cold_items) == round(0.2 * n_items) and len(out.cold_users) == round(0.25 * n_users)
    on_cold_item = df["item_id"].isin(out.cold_items).to_numpy()
    of_cold_user = df["user_id"].isin(out.cold_users).to_numpy()
    assert set(labels[on_cold_item]) <= {VALID, TEST}  # no training, never given
    assert set(labels[of_cold_user]) <= {GIVEN, VALID, TEST}  # no training
    assert (labels[labels == GIVEN] == GIVEN).all() and not (on_cold_item & (labels == GIVEN)).any()
    # each cold user: the `given` oldest warm-item interactions (a plain loop as reference)
    for user in out.cold_users:
        rows = df[(df["user_id"] == user) & ~on_cold_item]
        got = set(rows.index[labels[rows.index] == GIVEN])
        assert len(got) == min(3, len(rows))
        ts = rows["ts"].astype("float64").fillna(np.inf)
        newest_given = max(ts[list(got)]) if got else -np.inf
        assert all(ts[k] >= newest_given for k in rows.index if k not in got)
    # the held-out rest of every user: floor(m/2) validation, the others test
    rest = df.assign(label=labels)[(on_cold_item | of_cold_user) & (labels != GIVEN)]
    for _, rows in rest.groupby("user_id"):
        assert (rows["label"] == VALID).sum() == len(rows) // 2
    # warm users on warm items: exactly the ordinary per-user split of those interactions
    warm = ~on_cold_item & ~of_cold_user
    np.testing.assert_array_equal(labels[warm], split_per_user(df[warm], seed).to_numpy())
    # seeded: the same seed repeats, another seed picks other items
    again = split_cold(df, seed, 0.2, 0.25, 3)
    assert again.cold_items == out.cold_items and (again.labels == out.labels).all()
    assert split_cold(df, seed + 100, 0.2, 0.25, 3).cold_items != out.cold_items


def test_cold_split_with_only_items_or_users():
    df = _with_ts(3)
    items_only = split_cold(df, 5, cold_items=0.3, cold_users=0.0, given=5)
    assert not items_only.cold_users and GIVEN not in set(items_only.labels)
    users_only = split_cold(df, 5, cold_items=0.0, cold_users=0.1, given=5)
    assert not users_only.cold_items
    trained = set(df.loc[users_only.labels.to_numpy() == TRAIN, "user_id"])
    assert not trained & users_only.cold_users
