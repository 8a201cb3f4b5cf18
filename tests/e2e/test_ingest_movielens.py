"""MovieLens 100K through ingestion, checked against counts computed from the raw files."""
from __future__ import annotations

import collections

import pytest

from mllmrec.dataset import dataset_stats
from mllmrec.preprocess import split_sizes
from tests.conftest import ML100K

pytestmark = pytest.mark.e2e


def _raw_counts() -> tuple[set[str], set[str], collections.Counter]:
    """Users, items and interactions per user read straight from u.data with no project code."""
    users, items, per_user = set(), set(), collections.Counter()
    with open(ML100K / "u.data") as f:
        for line in f:
            u, i, _, _ = line.rstrip("\n").split("\t")
            users.add(u)
            items.add(i)
            per_user[u] += 1
    return users, items, per_user


def test_counts_match_raw_files(graph, ml100k_dataset):
    users, items, per_user = _raw_counts()
    st = dataset_stats(graph, ml100k_dataset)
    assert (st.users, st.items, st.interactions) == (len(users), len(items), sum(per_user.values()))
    assert (st.users, st.items, st.interactions) == (943, 1682, 100_000)


def test_split_sizes_follow_per_user_rule(graph, ml100k_dataset):
    _, _, per_user = _raw_counts()
    rows = graph.run_text(
        "MATCH (u:User {dataset: $d})-[x:INTERACTED]->() "
        "RETURN u.id AS user, x.split AS split, count(*) AS n", d=ml100k_dataset)
    got = collections.defaultdict(lambda: [0, 0, 0])
    for r in rows:
        got[r["user"]][r["split"]] = r["n"]
    for user, n in per_user.items():
        held = n // 5  # floor(0.2 n) for n >= 10 (every ML-100K user has >= 20)
        assert got[user] == [n - held, held // 2, held - held // 2], user
        assert tuple(got[user]) == split_sizes(n)
