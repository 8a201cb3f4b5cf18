"""MovieLens files through ingestion, checked against counts computed from the raw files:
ML-100K itself (its published sizes; skipped without it) and, for the interrupted ingest,
the synthetic MovieLens files."""
from __future__ import annotations

import collections
from pathlib import Path

import pytest

from mllmrec.dataset import dataset_stats
from mllmrec.preprocess import split_sizes
from tests.conftest import ML100K

pytestmark = pytest.mark.e2e


def _raw_counts(folder: Path = ML100K) -> tuple[set[str], set[str], collections.Counter]:
    """Users, items and interactions per user read straight from u.data with no project code."""
    users, items, per_user = set(), set(), collections.Counter()
    with open(folder / "u.data") as f:
        for line in f:
            u, i, _, _ = line.rstrip("\n").split("\t")
            users.add(u)
            items.add(i)
            per_user[u] += 1
    return users, items, per_user


def test_counts_match_raw_files(store, ml100k_dataset):
    users, items, per_user = _raw_counts()
    st = dataset_stats(store, ml100k_dataset)
    assert (st.users, st.items, st.interactions) == (len(users), len(items), sum(per_user.values()))
    assert (st.users, st.items, st.interactions) == (943, 1682, 100_000)


def test_split_sizes_follow_per_user_rule(store, ml100k_dataset):
    _, _, per_user = _raw_counts()
    rows = store.run_text(
        "MATCH (u:User {dataset: $d})-[x:INTERACTED]->() "
        "RETURN u.id AS user, x.split AS split, count(*) AS n", d=ml100k_dataset)
    got = collections.defaultdict(lambda: [0, 0, 0])
    for r in rows:
        got[r["user"]][r["split"]] = r["n"]
    for user, n in per_user.items():
        held = n // 5  # floor(0.2 n) for n >= 10 (every ML-100K user has >= 20)
        assert got[user] == [n - held, held // 2, held - held // 2], user
        assert tuple(got[user]) == split_sizes(n)


class _Crash(RuntimeError):
    """The simulated failure of an interrupted ingest."""


def test_interrupted_ingest_reruns_to_completion_and_rerun_changes_nothing(
        store, neo4j_settings, dataset_name, synthetic_movielens, monkeypatch):
    import mllmrec.db
    from tests.conftest import run_cli

    folder = synthetic_movielens.folder
    users, items, per_user = _raw_counts(folder)
    total = sum(per_user.values())
    real_run_batch = mllmrec.db._run_batch
    sent = {"interaction batches": 0}

    def crash_after_three(tx, text, batch, params):
        if "INTERACTED" in text:
            if sent["interaction batches"] == 3:
                raise _Crash("simulated crash in the middle of the interactions")
            sent["interaction batches"] += 1
        return real_run_batch(tx, text, batch, params)

    args = ["--dataset", dataset_name, "ingest", "--batch-size", "1000", "movielens", str(folder)]
    monkeypatch.setattr(mllmrec.db, "_run_batch", crash_after_three)
    crashed = run_cli(args, neo4j_settings)
    assert isinstance(crashed.exception, _Crash)
    partial = dataset_stats(store, dataset_name)
    assert partial.status == "ingesting"  # the Dataset node says the ingest did not finish
    assert 0 < partial.interactions < total
    monkeypatch.setattr(mllmrec.db, "_run_batch", real_run_batch)

    def complete_and_check():
        result = run_cli(args, neo4j_settings)
        assert result.exit_code == 0, result.output + repr(result.exception)
        st = dataset_stats(store, dataset_name)
        assert st.status == "ready"
        assert (st.users, st.items, st.interactions) == (len(users), len(items), total)
        want = [0, 0, 0]
        for n in per_user.values():
            for k, size in enumerate((n - n // 5, (n // 5) // 2, n // 5 - (n // 5) // 2)):
                want[k] += size
        assert [st.splits[k] for k in range(3)] == want
        return store.run_text(
            "MATCH (u:User {dataset: $d})-[x:INTERACTED]->(i) "
            "RETURN x.split AS split, count(*) AS n, sum(x.rating) AS ratings, sum(x.ts) AS ts, "
            "count(DISTINCT [u.id, i.id]) AS pairs ORDER BY split", d=dataset_name)

    completed = complete_and_check()
    assert sum(r["pairs"] for r in completed) == total
    assert complete_and_check() == completed  # re-ingesting changes nothing
