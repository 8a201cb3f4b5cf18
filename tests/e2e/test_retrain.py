"""`retrain` after new data: only new/changed items and users are reprocessed (checked against
sets computed from the raw file), the new run serves and the old one is kept; an interrupted
retrain leaves the last good run serving and the next one completes; one retrain per dataset
at a time (Neo4j lock); the scheduler stops cleanly and refuses a bad interval.

The tests in this module run in order on one dataset (the pipeline fixture's)."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter

import pytest

from mllmrec.errors import ConfigError
from mllmrec.ops.lock import LockBusy, dataset_lock, lock_info, try_acquire
from mllmrec.ops.retrain import retrain
from mllmrec.ops.scheduler import parse_interval
from tests.conftest import run_cli
from tests.e2e.ops_fixtures import Processed, processed_dataset

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="session")
def processed(store, neo4j_settings, synthetic_movielens, tmp_path_factory, request) -> Processed:
    return processed_dataset(store, neo4j_settings, synthetic_movielens, tmp_path_factory, request)


def _labels(store, dataset) -> dict[tuple[str, str], int]:
    rows = store.run("ingest/existing_splits", dataset=dataset)
    return {(r["user_id"], r["item_id"]): r["split"] for r in rows}


def _hashes(store, dataset) -> dict[str, dict[str, str]]:
    rows = store.run_text(
        "MATCH (n {dataset: $d}) WHERE n:User OR n:Item "
        "RETURN CASE WHEN n:User THEN 'u' ELSE 'i' END + ':' + n.id AS key, "
        "n.history_hash AS history, n.embedding_hash AS embedding", d=dataset)
    return {r["key"]: r for r in rows}


def _changed(before, after, field) -> set[str]:
    return {k for k, v in after.items() if v[field] is not None
            and (k not in before or before[k][field] != v[field])}


def _last_counts(store, dataset) -> dict[str, dict]:
    rows = store.run("ops/stage_history", dataset=dataset)
    return {r["stage"]: {"status": r["status"], **json.loads(r["counts"] or "{}")} for r in rows}


def _serving(store, dataset) -> str:
    return store.run("train/serving_run", dataset=dataset)[0]["run"]


def _runs(store, dataset) -> dict[str, dict]:
    return {r["id"]: r["props"] for r in store.run("ops/training_runs", dataset=dataset)}


def _retrain_args(p: Processed, *extra: str) -> list[str]:
    return p.cli("retrain", "--no-llm", "--set", f"train.runs_dir={p.runs_dir}", *extra)


def test_incremental_retrain_reprocesses_only_what_changed(store, neo4j_settings, processed):
    name = processed.name
    labels_before, hashes_before = _labels(store, name), _hashes(store, name)
    serving_before, runs_before = _serving(store, name), _runs(store, name)

    result = run_cli(["-d", name, "ingest", "movielens", str(processed.source), "--posters",
                      str(processed.posters)], neo4j_settings)
    assert result.exit_code == 0, result.output

    # Independent expectations from the raw file (pandas only).
    raw, first = processed.raw, processed.first
    old_pairs = set(zip(first["user"], first["item"]))
    all_pairs = set(zip(raw["user"], raw["item"]))
    new_items = set(raw["item"]) - set(first["item"])
    labels = _labels(store, name)
    assert set(labels) == all_pairs
    assert all(labels[p] == labels_before[p] for p in old_pairs), "stored labels must not move"
    per_user = Counter(raw["user"])
    got = Counter((u, s) for (u, _), s in labels.items())
    assert min(per_user.values()) >= 10  # so every user holds out floor(0.2 n) = n // 5
    for user, n in per_user.items():
        held = n // 5
        assert (got[user, 0], got[user, 1], got[user, 2]) == (n - held, held // 2, held - held // 2)
    changed_users = {u for (u, i) in all_pairs - old_pairs if labels[u, i] == 0}
    assert new_items and changed_users

    result = run_cli(_retrain_args(processed, "--epochs", "1"), neo4j_settings)
    assert result.exit_code == 0, result.output + repr(result.exception)
    assert "serves" in result.output

    counts = _last_counts(store, name)
    assert all(counts[s]["status"] == "ok" for s in ("describe", "profile", "embed", "build-graph", "train"))
    assert counts["describe"]["written"] == len(new_items) and counts["describe"]["generated"] == 0
    assert counts["profile"]["generated"] == len(changed_users)
    assert counts["profile"]["skipped"] == len(per_user) - len(changed_users)
    assert counts["embed"]["items_encoded"] == len(new_items)
    assert counts["embed"]["users_encoded"] == len(changed_users)
    hashes = _hashes(store, name)
    assert _changed(hashes_before, hashes, "history") == {f"u:{u}" for u in changed_users}
    assert _changed(hashes_before, hashes, "embedding") == (
        {f"u:{u}" for u in changed_users} | {f"i:{i}" for i in new_items})

    serving, runs = _serving(store, name), _runs(store, name)
    assert serving != serving_before and serving not in runs_before
    assert set(runs) == set(runs_before) | {serving}  # the old run is kept as history
    assert runs[serving_before]["status"] == "ok" and runs[serving_before]["serving"] is False
    assert runs[serving]["n_users"] == len(per_user) and runs[serving]["n_items"] == raw["item"].nunique()


def test_interrupted_retrain_keeps_serving_and_next_one_completes(store, neo4j_settings, processed):
    """SIGTERM the scheduler while it trains: the run fails, the lock is released, the last
    good run still serves; the next retrain completes and serves."""
    name = processed.name
    serving_before, runs_before = _serving(store, name), set(_runs(store, name))
    env = {**os.environ, "NEO4J_URI": neo4j_settings.uri, "NEO4J_USER": neo4j_settings.user,
           "MLLMREC_NEO4J_HOME": str(neo4j_settings.home)}
    if neo4j_settings.password:
        env["NEO4J_PASSWORD"] = neo4j_settings.password
    cmd = [os.path.join(os.path.dirname(sys.executable), "mllmrec"),
           *_retrain_args(processed, "--every", "1h", "--force", "train", "--epochs", "200",
                          "--set", "train.patience=200")]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 300
        while not (set(_runs(store, name)) - runs_before):
            assert proc.poll() is None, proc.communicate()[0]
            assert time.monotonic() < deadline, "training never started"
            time.sleep(0.5)
        time.sleep(2)  # well inside the training loop
        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, output
    assert "interrupted by shutdown" in output
    killed = (set(_runs(store, name)) - runs_before).pop()
    assert _runs(store, name)[killed]["status"] == "failed"
    assert _last_counts(store, name)["train"]["status"] == "failed"
    assert _serving(store, name) == serving_before
    assert lock_info(store, name) is None

    result = run_cli(_retrain_args(processed, "--force", "train", "--epochs", "1"), neo4j_settings)
    assert result.exit_code == 0, result.output + repr(result.exception)
    assert "warm start from " + serving_before in result.output
    serving = _serving(store, name)
    assert serving not in (serving_before, killed)
    assert set(_runs(store, name)) == runs_before | {killed, serving}


def test_second_retrain_exits_or_waits_while_one_holds_the_lock(store, neo4j_settings, processed):
    name = processed.name
    with dataset_lock(store, name, owner="other-host:42:abc", ttl=60):
        result = run_cli(_retrain_args(processed, "--wait", "1"), neo4j_settings)
        assert result.exit_code == 1 and isinstance(result.exception, LockBusy)
        assert "another retrain holds the lock" in str(result.exception)
        assert "other-host:42:abc" in str(result.exception)
        status = run_cli(["-d", name, "status"], neo4j_settings)
        assert "a retrain is running" in " ".join(status.output.split())

    # A waiting retrain proceeds once the holder releases (nothing changed: no new model).
    reports, settings = [], processed.settings(neo4j_settings)
    settings.train.epochs = 1  # as the last retrain ran: its fingerprint matches, nothing to do
    with dataset_lock(store, name, owner="other-host:42:abc", ttl=60):
        t0 = time.monotonic()
        waiter = threading.Thread(target=lambda: reports.append(
            retrain(store, settings, wait=60, progress=False)))
        waiter.start()
        time.sleep(2)
        assert waiter.is_alive()
    waiter.join(timeout=120)
    assert reports and time.monotonic() - t0 >= 2
    assert reports[0].decision.startswith("no new model")


def test_lock_is_atomic_and_expires(store, dataset_name):
    for _ in range(3):
        owners = [f"racer-{k}" for k in range(6)]
        barrier = threading.Barrier(len(owners))
        won = []

        def race(owner: str, barrier: threading.Barrier = barrier, won: list = won) -> None:
            barrier.wait()
            if try_acquire(store, dataset_name, owner, ttl=60)["acquired"]:
                won.append(owner)

        threads = [threading.Thread(target=race, args=(o,)) for o in owners]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(won) == 1, won
        store.run("ops/lock_release", dataset=dataset_name, owner=won[0])
    # A holder that crashed (never renews) loses the lock once it expires.
    assert try_acquire(store, dataset_name, "crashed", ttl=1)["acquired"]
    assert not try_acquire(store, dataset_name, "next", ttl=60)["acquired"]
    time.sleep(1.5)
    assert try_acquire(store, dataset_name, "next", ttl=60)["acquired"]


def test_scheduler_rejects_bad_interval(neo4j_settings):
    assert parse_interval("6h") == 21600 and parse_interval("1h30m") == 5400
    assert parse_interval("45") == 45
    result = run_cli(["-d", f"none-{uuid.uuid4().hex[:6]}", "retrain", "--every", "6x"],
                     neo4j_settings)
    assert result.exit_code == 1 and isinstance(result.exception, ConfigError)
