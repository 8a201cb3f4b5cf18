"""Where training runs, end to end on the synthetic MovieLens dataset through Neo4j: the GPU self-check
(``mllmrec doctor``) on a machine without a GPU, and data-parallel training on 2 processes."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import torch

from mllmrec.ops.doctor import report, run_doctor
from mllmrec.train.job import train_model
from mllmrec.train.registry import MODELS
from tests.conftest import REPO, run_cli
from tests.e2e.train_fixtures import trainable  # noqa: F401

pytestmark = pytest.mark.e2e


def _serving(store, dataset):
    return store.run_text("MATCH (d:Dataset {name: $d}) RETURN d.serving_run AS run", d=dataset)[0]["run"]


def _runs(store, dataset) -> int:
    return store.run_text("MATCH (r:TrainingRun {dataset: $d}) RETURN count(r) AS n", d=dataset)[0]["n"]


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_doctor_runs_the_cpu_half_says_why_and_writes_nothing(store, trainable):  # noqa: F811
    before = _runs(store, trainable.dataset)
    checks = run_doctor(store, trainable, epochs=1)
    ran = {c.model: c for c in checks if c.ran}
    skipped = {c.model: c for c in checks if not c.ran}
    assert set(ran) == set(skipped) == set(MODELS)
    assert all(c.device == "cpu" and 0 < c.valid["recall@20"] < 1 for c in ran.values())
    assert all(c.device == "cuda" and "no CUDA GPU" in c.why for c in skipped.values())
    lines = report(checks)
    assert sum("CPU only" in line for line in lines) == len(MODELS)
    assert _runs(store, trainable.dataset) == before


def test_cli_doctor(store, neo4j_settings, trainable):  # noqa: F811
    result = run_cli(["-d", trainable.dataset, "doctor", "--model", "bpr", "--epochs", "1",
                      "--threads", "1"], neo4j_settings)
    assert result.exit_code == 0, result.output
    assert "DGL" in result.output and "bpr       cpu" in result.output


def test_two_processes_follow_one_and_write_exactly_one_run(store, neo4j_settings, trainable, tmp_path):  # noqa: F811
    """`mllmrec train --nproc 2` (torchrun, gloo) for 3 epochs against the single-process run
    with the same global batch: same best epoch, validation Recall@20 within 0.005 (the
    steps are the same maths; only float summation order differs), one TrainingRun, and its
    vectors served."""
    s = trainable.with_overrides({"train.epochs": 3, "train.patience": 20, "train.runs_dir": tmp_path})
    single = train_model(store, s, serve=False, progress=False)
    before = _runs(store, s.dataset)
    env = {**os.environ, "NEO4J_URI": neo4j_settings.uri, "NEO4J_USER": neo4j_settings.user,
           "MLLMREC_NEO4J_HOME": str(neo4j_settings.home), "PYTHONPATH": str(REPO)}
    if neo4j_settings.password:
        env["NEO4J_PASSWORD"] = neo4j_settings.password
    done = subprocess.run([sys.executable, "-m", "mllmrec", "-d", s.dataset, "train", "--nproc", "2",
                           "--epochs", "3", "--device", "cpu", "--threads", "1",
                           "--batch-size", str(s.train.batch_size),
                           "--runs-dir", str(tmp_path)], check=False, env=env, capture_output=True, text=True,
                          timeout=1200)
    assert done.returncode == 0, done.stderr[-3000:]
    assert _runs(store, s.dataset) == before + 1
    row = store.run_text("MATCH (r:TrainingRun {dataset: $d}) WHERE r.id <> $single "
                         "RETURN r.id AS id, r.status AS status, r.params AS params, "
                         "r.best_epoch AS best, r.valid_recall_20 AS r20 ORDER BY r.started_at DESC LIMIT 1",
                         d=s.dataset, single=single.run_id)[0]
    assert row["status"] == "ok" and json.loads(row["params"])["nproc"] == 2
    assert row["best"] == single.best_epoch
    assert abs(row["r20"] - single.metrics["valid"]["recall@20"]) <= 0.005
    assert _serving(store, s.dataset) == row["id"]
