"""The dataset lock around every writing command, and runs killed mid-way, with real
processes: two ingests of one new dataset started together (one runs, the other is refused
naming the holder, nothing is stored twice); a killed ingest (its lock is reported stale and
taken over, its StageRun and a killed TrainingRun become 'interrupted')."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import REPO, run_cli

pytestmark = pytest.mark.e2e


def _big_csv(path: Path, users: int, items: int) -> Path:
    """Every user rates the same ``items`` items: users * items distinct interactions."""
    with open(path, "w") as f:
        f.write("user,item,rating,timestamp\n")
        for u in range(users):
            f.writelines(f"u{u},i{i},{1 + (u + i) % 5},{1_000_000 + u * items + i}\n"
                         for i in range(items))
    return path


def _env(neo4j) -> dict[str, str]:
    """Environment of a child process: this worktree's code, the test server."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "NEO4J_URI": neo4j.uri, "NEO4J_USER": neo4j.user,
           "MLLMREC_NEO4J_HOME": str(neo4j.home)}
    env.pop("NEO4J_PASSWORD", None)  # the server's own, or its home's credentials file
    if neo4j.password:
        env["NEO4J_PASSWORD"] = neo4j.password
    return env


def _cli_process(args: list[str], neo4j) -> subprocess.Popen:
    """The real command in its own process."""
    return subprocess.Popen([sys.executable, "-c", "from mllmrec.cli import main; main()", *args],
                            env=_env(neo4j), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_two_ingests_of_a_new_dataset_one_runs_the_other_is_refused(store, neo4j_settings,
                                                                     dataset_name, tmp_path):
    data = _big_csv(tmp_path / "big.csv", 500, 100)  # 50,000 interactions
    args = ["--dataset", dataset_name, "ingest", "csv", str(data)]
    procs = [_cli_process(args, neo4j_settings) for _ in range(2)]
    outs = [p.communicate(timeout=600) for p in procs]
    codes = sorted(p.returncode for p in procs)
    assert codes == [0, 1], outs
    winner, loser = (0, 1) if procs[0].returncode == 0 else (1, 0)
    err = outs[loser][1]
    assert "holds the lock on dataset" in err, err
    assert f"owner {socket.gethostname()}:{procs[winner].pid}:" in err, err
    assert "Traceback" not in err
    rows = store.run_text(
        "MATCH (u:User {dataset: $d})-[x:INTERACTED]->(i) "
        "WITH u, i, count(x) AS n RETURN count(*) AS pairs, sum(n) AS rels, max(n) AS most",
        d=dataset_name)[0]
    assert rows == {"pairs": 50_000, "rels": 50_000, "most": 1}


def _wait_for(store, query: str, timeout: float = 300, **params):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rows = store.run_text(query, **params)
        if rows:
            return rows
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {query}")


def test_killed_ingest_is_interrupted_and_its_lock_taken_over(store, neo4j_settings, dataset_name,
                                                             tmp_path):
    data = _big_csv(tmp_path / "big.csv", 2000, 100)  # 200,000 interactions: several seconds
    proc = _cli_process(["--dataset", dataset_name, "ingest", "csv", str(data)], neo4j_settings)
    _wait_for(store, "MATCH (s:StageRun {dataset: $d, status: 'running', pid: $pid}) "
              "MATCH (:User {dataset: $d}) RETURN s.id LIMIT 1", d=dataset_name, pid=proc.pid)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)

    status = run_cli(["--dataset", dataset_name, "status"], neo4j_settings)
    assert status.exit_code == 0, status.output + repr(status.exception)
    assert "stale lock" in status.output and "process is gone" in status.output, status.output
    assert "is running" not in status.output

    # A training run killed in another process, left 'running' on the dataset.
    trainer = subprocess.run([sys.executable, "-c", (
        "import sys; from mllmrec.config import load_settings; from mllmrec.db import connect;"
        "from mllmrec.train.writeback import start_run;"
        "g = connect(load_settings().neo4j);"
        "start_run(g, 'killed-run-' + sys.argv[1], sys.argv[1], 'bpr', {}, 'cpu', None);"
        "import os; os.kill(os.getpid(), 9)"), dataset_name],
        env=_env(neo4j_settings),
        capture_output=True, text=True, timeout=120)
    assert trainer.returncode == -9, trainer.stderr

    small = tmp_path / "small.csv"
    small.write_text("user,item\nu1,i1\nu1,i2\nu2,i1\n")
    again = run_cli(["--dataset", dataset_name, "ingest", "csv", str(small)], neo4j_settings)
    assert again.exit_code == 0, again.output + repr(again.exception)
    runs = store.run_text(
        "MATCH (r) WHERE (r:StageRun OR r:TrainingRun) AND r.dataset = $d "
        "RETURN labels(r)[0] AS kind, r.pid AS pid, r.status AS status", d=dataset_name)
    killed = {(r["kind"], r["status"]) for r in runs if r["pid"] != os.getpid()}
    assert killed == {("StageRun", "interrupted"), ("TrainingRun", "interrupted")}, runs
    assert {r["status"] for r in runs if r["pid"] == os.getpid()} == {"ok"}
    status = run_cli(["--dataset", dataset_name, "status"], neo4j_settings)
    assert "interrupted" in status.output and "stale lock" not in status.output, status.output
