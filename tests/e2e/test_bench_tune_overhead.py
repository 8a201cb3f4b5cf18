"""The ``tune-overhead`` bench section's measuring function on the tiny tuning dataset: the
three runs interleaved, and every one of them trained the same number of epochs on the same
graph build, checked in Neo4j and in Optuna's storage (a trial that silently trained less, or
built its own graph, would fail here)."""
from __future__ import annotations

import json

import optuna
import pytest

from bench.tune_overhead import TARGET, measure_overhead
from mllmrec.tune.study import study_dir
from tests.e2e.tune_fixtures import tiny  # noqa: F401

pytestmark = pytest.mark.e2e

EPOCHS = 3


def test_trial_and_train_runs_do_the_same_work(store, tiny):  # noqa: F811
    from mllmrec.graph.build import build_graph

    s = tiny
    build_graph(store, s)
    (active,) = [r["id"] for r in store.run_text(
        "MATCH (b:GraphBuild {dataset: $d}) RETURN b.id AS id", d=s.dataset)]
    seen: list[int] = []
    out = measure_overhead(store, s, epochs=EPOCHS, repeats=2,
                           on_repeat=lambda o: seen.append(len(o["runs"])))

    assert seen == [3, 6]  # saved after every repeat
    assert [(r["repeat"], r["kind"]) for r in out["runs"]] == [
        (0, "train"), (0, "trainer"), (0, "trial"), (1, "trainer"), (1, "trial"), (1, "train")]
    for key in ("train_seconds", "trainer_seconds", "trial_seconds", "study_call_seconds"):
        assert out[key] > 0
    assert out["once_seconds"] == pytest.approx(out["study_call_seconds"] - out["trial_seconds"])
    trials = [r for r in out["runs"] if r["kind"] == "trial"]
    assert all(0 < r["seconds"] < r["study_call_seconds"] for r in trials)
    assert out["ratio"] == pytest.approx(out["trial_seconds"] / out["train_seconds"])
    assert out["trainer_ratio"] == pytest.approx(out["trial_seconds"] / out["trainer_seconds"])
    assert (out["met"], out["trainer_met"]) == (out["ratio"] <= TARGET, out["trainer_ratio"] <= TARGET)
    assert out["epochs"] == EPOCHS and out["graph_build"] == active
    assert len(out["load_average_start"]) == len(out["load_average_end"]) == 3

    # Neo4j: six runs, each trained EPOCHS epochs on the active build, with the model and
    # learning rate of the configuration; only the `train` runs served; no graph was built
    runs = {r["id"]: r for r in store.run_text(
        "MATCH (r:TrainingRun {dataset: $d}) RETURN r.id AS id, r.epochs AS epochs, "
        "r.status AS status, r.graph_build AS build, r.params AS params, r.model AS model",
        d=s.dataset)}
    assert set(runs) == {r["run"] for r in out["runs"]}
    for row in out["runs"]:
        run = runs[row["run"]]
        params = json.loads(run["params"])
        assert (run["epochs"], run["status"], run["build"]) == (EPOCHS, "ok", active), row
        assert (run["model"], params["lr"], params["epochs"]) == (s.train.model, s.train.lr, EPOCHS)
        assert params.get("trial", False) == (row["kind"] != "train")
        assert params["serve"] == (row["kind"] == "train")
    builds = store.run_text("MATCH (b:GraphBuild {dataset: $d}) RETURN b.id AS id", d=s.dataset)
    assert builds == [{"id": active}]
    linked = store.run_text("MATCH (:TuningStudy {dataset: $d})-[t:TRIAL]->(r:TrainingRun) "
                            "RETURN t.number AS n, r.id AS run ORDER BY n", d=s.dataset)
    assert linked == [{"n": r["trial"], "run": r["run"]} for r in trials]

    # Optuna's storage: two complete trials, each reported every epoch 1..EPOCHS
    name = out["study"]
    url = f"sqlite:///{study_dir(s.with_overrides({'tune.study_name': name})) / 'optuna.db'}"
    study = optuna.load_study(study_name=name, storage=url)
    assert [t.state for t in study.trials] == [optuna.trial.TrialState.COMPLETE] * 2
    assert [sorted(t.intermediate_values) for t in study.trials] == [list(range(1, EPOCHS + 1))] * 2
    assert [t.user_attrs["run_id"] for t in study.trials] == [r["run"] for r in trials]
