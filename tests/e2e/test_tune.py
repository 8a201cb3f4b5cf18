"""``mllmrec tune`` end to end on a tiny synthetic catalogue through the real ingest, graph
builder, trainer and Neo4j: a 6-trial study that is interrupted and resumed without redoing
finished trials, prunes a trial with a hopeless learning rate (recorded as 'pruned'), keeps
trial graph builds beside the active one, stores exactly one TuningStudy and computes test
metrics for the winner only; the objective's values do not move when every test interaction
is deleted; ``--serve`` decides on validation; ``retrain --from-study`` trains with the best
trial's parameters; bad input ends in one line."""
from __future__ import annotations

import json
import sys

import optuna
import pytest
from optuna.trial import TrialState

from mllmrec.config import Settings
from mllmrec.db import Store
from mllmrec.errors import ConfigError
from mllmrec.tune.space import overrides
from mllmrec.tune.study import load_study, open_study, run_study, study_dir
from mllmrec.tune.winner import best_overrides, decide, serve_winner
from tests.conftest import run_cli
from tests.e2e.tune_fixtures import BAD, GOOD, tiny  # noqa: F401
from tests.fixtures_models import ingest as ingest_catalogue
from tests.fixtures_models import movie_catalogue, small_catalogue  # noqa: F401

pytestmark = pytest.mark.e2e


def _builds(store: Store, dataset: str) -> list[dict]:
    return store.run_text("MATCH (b:GraphBuild {dataset: $d}) RETURN b.id AS id, b.active AS "
                          "active, b.kept AS kept, b.knn_k AS knn_k, b.status AS status", d=dataset)


class Interrupt(KeyboardInterrupt):
    """Ctrl-C after the third finished trial."""


def test_study_interrupted_resumed_pruned_one_node_winner_only_on_test(
        store, tiny, neo4j_settings):  # noqa: F811
    from mllmrec.graph.build import build_graph

    s = tiny
    build_graph(store, s)  # the dataset's active build (knn_k 10), which trials must not replace
    (active,) = [b["id"] for b in _builds(store, s.dataset) if b["active"]]
    study = open_study(s)
    # two good trials so the median pruner has a curve, then a hopeless learning rate
    study.enqueue_trial({"model": "mllmrec", "lr": GOOD, "knn_k": 3})
    study.enqueue_trial({"model": "bpr", "lr": GOOD})
    study.enqueue_trial({"model": "mllmrec", "lr": BAD, "knn_k": 3})

    def stop_after_three(study_: optuna.Study, trial) -> None:
        if len(study_.get_trials(states=(TrialState.COMPLETE, TrialState.PRUNED))) == 3:
            raise Interrupt

    with pytest.raises(Interrupt):
        run_study(store, s, progress=False, on_trial=stop_after_three)
    first = {t.number: (t.state, t.user_attrs["run_id"], t.value) for t in load_study(s).trials}
    assert len(first) == 3
    assert first[2][0] == TrialState.PRUNED  # the bad learning rate, before its 4th epoch

    seen: list[int] = []
    outcome = run_study(store, s, progress=False, on_trial=lambda st, t: seen.append(t.number))
    trials = load_study(s).trials
    assert seen == [3, 4, 5]  # only new trials ran
    assert {t.number: (t.state, t.user_attrs["run_id"], t.value) for t in trials[:3]} == first
    assert outcome.complete and outcome.counts["complete"] + outcome.counts["pruned"] == 6

    runs = {r["id"]: r for r in store.run_text(
        "MATCH (s:TuningStudy {dataset: $d})-[t:TRIAL]->(r:TrainingRun) "
        "RETURN r.id AS id, t.number AS number, r.status AS status, r.test_recall_20 AS test, "
        "r.valid_recall_20 AS valid, r.serving AS serving, r.error AS error", d=s.dataset)}
    assert store.run_text("MATCH (s:TuningStudy {dataset: $d}) RETURN count(s) AS n",
                          d=s.dataset) == [{"n": 1}]
    assert {r["number"] for r in runs.values()} == set(range(6))
    by_state = {t.number: t for t in trials}
    for t in trials:
        run = runs[t.user_attrs["run_id"]]
        assert run["status"] == {TrialState.COMPLETE: "ok", TrialState.PRUNED: "pruned"}[t.state]
        assert not run["serving"]
        if t.state == TrialState.COMPLETE:
            assert run["valid"] == pytest.approx(t.value, abs=1e-9)
    assert runs[by_state[2].user_attrs["run_id"]]["error"].startswith("pruned: epoch ")
    # test metrics: the winner's run only, computed after the study
    winner = outcome.best
    assert winner is not None and winner.value == max(t.value for t in trials if t.value is not None)
    tested = [r["id"] for r in runs.values() if r["test"] is not None]
    assert tested == [winner.user_attrs["run_id"]]
    assert outcome.winner_metrics["test"]["recall@20"] == pytest.approx(runs[tested[0]]["test"])
    node = store.run_text("MATCH (s:TuningStudy {dataset: $d}) RETURN properties(s) AS p",
                          d=s.dataset)[0]["p"]
    assert node["best_run"] == winner.user_attrs["run_id"] == node["winner_run"]
    assert node["best_value"] == pytest.approx(winner.value)
    assert json.loads(node["space"])["knn_k"] == {"choices": [3, 6]}
    assert (node["complete"], node["pruned"], node["sampler"]) == (
        outcome.counts["complete"], outcome.counts["pruned"], "tpe")
    # trial builds: one per distinct knn_k drawn, kept beside the active build, never active
    drawn = {t.params["knn_k"] for t in trials if "knn_k" in t.params}
    builds = _builds(store, s.dataset)
    assert [b["id"] for b in builds if b["active"]] == [active]
    assert sorted(b["knn_k"] for b in builds if b["kept"]) == sorted(drawn)
    assert {t.user_attrs["graph_build"] for t in trials if "knn_k" in t.params} == {
        b["id"] for b in builds if b["kept"]}
    # a rerun of the finished study trains nothing and reads test nothing more
    again = run_study(store, s, progress=False, on_trial=lambda st, t: seen.append(t.number))
    assert seen == [3, 4, 5] and again.winner_metrics == outcome.winner_metrics

    # --serve: nothing serves yet, so the winner does, with its own graph build active
    decision = serve_winner(store, s, load_study(s))
    assert decision.served and decision.serving_run == winner.user_attrs["run_id"]
    serving = store.run("train/serving_run", dataset=s.dataset)[0]
    assert serving["run"] == winner.user_attrs["run_id"]
    if "graph_build" in winner.user_attrs:
        assert [b["id"] for b in _builds(store, s.dataset) if b["active"]] == [
            winner.user_attrs["graph_build"]]
    assert not serve_winner(store, s, load_study(s)).served  # already serving

    # the CLI: --report (table, PNGs next to the study), status, retrain --from-study's source
    folder = ["-d", s.dataset]
    sets = ["--set", f"train.runs_dir={s.train.runs_dir}"]
    out = run_cli([*folder, "tune", "--report", *sets], neo4j_settings, env={"COLUMNS": "200"})
    assert out.exit_code == 0, out.output + repr(out.exception)
    assert "pruned" in out.output and winner.user_attrs["run_id"] in out.output
    assert (study_dir(s) / "history.png").stat().st_size > 1000
    assert (study_dir(s) / "importance.png").is_file() or "importance.png not written" in out.output
    out = run_cli([*folder, "status"], neo4j_settings, env={"COLUMNS": "200"})
    assert out.exit_code == 0, out.output + repr(out.exception)
    assert f"tuning study '{s.dataset}'" in out.output and "winner test R@20" in out.output
    assert best_overrides(s) == overrides(winner.params)


def test_serving_decision_reads_validation_and_min_gain():
    assert decide(0.30, None, 0.0)[0]
    assert decide(0.31, 0.30, 0.0)[0]
    assert not decide(0.30, 0.30, 0.0)[0]  # a tie does not replace what serves
    assert not decide(0.305, 0.30, 0.01)[0] and decide(0.311, 0.30, 0.01)[0]
    assert "train.min_gain 0.01" in decide(0.305, 0.30, 0.01)[1]


def test_objective_never_reads_a_test_interaction(store, tiny):  # noqa: F811
    """Same seed, same study settings: deleting every test interaction between two studies
    leaves every trial's parameters, state and value exactly as they were."""
    s = tiny.with_overrides({"tune.n_trials": 3, "tune.sampler": "random", "tune.pruner": "none"})

    def values(name: str) -> list[tuple]:
        run_study(store, s.with_overrides({"tune.study_name": name}), progress=False)
        study = load_study(s.with_overrides({"tune.study_name": name}))
        return [(t.params, t.state, t.value, t.user_attrs["best_epoch"]) for t in study.trials]

    before = values("before")
    deleted = store.run_text("MATCH (:User {dataset: $d})-[x:INTERACTED {split: 2}]->() "
                             "DELETE x RETURN count(*) AS n", d=s.dataset)[0]["n"]
    assert deleted > 100
    assert values("after") == before


def _main(args: list[str], neo4j, monkeypatch, capsys) -> str:
    """Run the real entry point in-process; returns stderr after it exits with code 1."""
    from mllmrec.cli import main

    monkeypatch.setenv("NEO4J_URI", neo4j.uri)
    monkeypatch.setenv("MLLMREC_NEO4J_HOME", str(neo4j.home))
    if neo4j.password:
        monkeypatch.setenv("NEO4J_PASSWORD", neo4j.password)
    monkeypatch.setattr(sys, "argv", ["mllmrec", *args])
    capsys.readouterr()  # what the test printed before: not the command's
    with pytest.raises(SystemExit) as exit_:
        main()
    assert exit_.value.code == 1
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in err, err
    return lines[0]


def test_retrain_from_study_trains_with_the_best_trials_parameters(
        store, settings, movie_catalogue, neo4j_settings, monkeypatch, capsys):  # noqa: F811
    """A study on a subset of the synthetic MovieLens through the real stages, then
    ``mllmrec retrain --from-study``: the run it trains and serves has the best trial's
    learning rate and variant (read from Optuna's storage by Optuna itself) and the graph it
    trained on has the best trial's knn_k; none of them is a default, so a retrain that
    ignored the study would fail. A study that does not exist ends in one line."""
    from mllmrec.enrich.describe import describe_items
    from mllmrec.enrich.embed import embed_texts
    from mllmrec.enrich.profile import profile_users
    from mllmrec.graph.build import build_graph

    ingest_catalogue(store, settings.dataset, small_catalogue(movie_catalogue, 40, 24))
    s = settings.with_overrides({"enrich.no_llm": True, "enrich.device": "cpu",
                                 "train.device": "cpu", "train.threads": 1})
    for stage in (describe_items, profile_users, embed_texts, build_graph):
        stage(store, s)
    space = {"ui_gcn": [False, True], "lr": [0.02, 0.005], "knn_k": [3, 5]}
    assert s.train.lr not in space["lr"] and s.graph.knn_k not in space["knn_k"]
    run_study(store, s.with_overrides({
        "tune.study_name": "picked", "tune.n_trials": 3, "tune.sampler": "random",
        "tune.pruner": "none", "tune.epochs": 2, "tune.patience": 2, "tune.seed": 1,
        "tune.space": {k: {"choices": v} for k, v in space.items()}}), progress=False)
    db = s.train.runs_dir / s.dataset / "studies" / "picked" / "optuna.db"
    stored = optuna.load_study(study_name="picked", storage=f"sqlite:///{db}")
    best = stored.best_trial
    assert set(best.params) == set(space)
    trial_runs = {t.user_attrs["run_id"] for t in stored.trials}

    args = ["-d", s.dataset, "retrain", "--no-llm", "--epochs", "2", "--set",
            f"train.runs_dir={s.train.runs_dir}", "--set", "train.threads=1", "--set",
            "train.device=cpu"]
    out = run_cli([*args, "--from-study", "picked"], neo4j_settings, env={"COLUMNS": "200"})
    assert out.exit_code == 0, out.output + repr(out.exception)
    assert "parameters of study 'picked': " in out.output
    serving = store.run("train/serving_run", dataset=s.dataset)[0]
    assert serving["run"] not in trial_runs
    params = json.loads(serving["props"]["params"])
    assert "trial" not in params and params["epochs"] == 2
    assert (params["lr"], params["ui_gcn"]) == (best.params["lr"], best.params["ui_gcn"])
    active = store.run("graph/active_build", dataset=s.dataset)[0]
    assert (active["knn_k"], serving["graph_build"]) == (best.params["knn_k"], active["id"])

    line = _main([*args, "--from-study", "nosuch"], neo4j_settings, monkeypatch, capsys)
    assert "no study named 'nosuch'" in line and "run 'mllmrec tune' first" in line
    assert not (s.train.runs_dir / s.dataset / "studies" / "nosuch").exists()
    assert store.run("train/serving_run", dataset=s.dataset)[0]["run"] == serving["run"]


@pytest.mark.parametrize("sets, phrase", [
    (["tune.space={depth: {choices: [1, 2]}}"], "unknown parameter(s) depth"),
    (["tune.space={lr: {low: 0.01, high: 0.001}}"], "empty range"),
    (["tune.space={knn_k: {choices: []}}"], "empty list of choices"),
    (["tune.space={knn_k: {low: 2.5, high: 9}}"], "graph.knn_k is an integer"),
    (["tune.space={model: {choices: [mllmrec, nosuch]}}"], "'nosuch' is not a valid train.model"),
])
def test_bad_space_ends_in_one_line(sets, phrase, neo4j_settings, monkeypatch, capsys, tmp_path):
    line = _main(["-d", "nowhere", "tune", "--set", f"train.runs_dir={tmp_path}",
                  *(a for s in sets for a in ("--set", s))], neo4j_settings, monkeypatch, capsys)
    assert phrase in line


def test_unopenable_storage_and_another_datasets_study_end_in_one_line(
        neo4j_settings, monkeypatch, capsys, tmp_path):
    line = _main(["-d", "nowhere", "tune", "--storage", f"sqlite:///{tmp_path}/no/such/dir/x.db"],
                 neo4j_settings, monkeypatch, capsys)
    assert "cannot open the study storage" in line
    line = _main(["-d", "nowhere", "tune", "--storage", "postgresql://me:secret@127.0.0.1:1/x"],
                 neo4j_settings, monkeypatch, capsys)
    assert "cannot open the study storage" in line and "secret" not in line
    shared = f"sqlite:///{tmp_path}/shared.db"
    open_study(Settings(dataset="first").with_overrides({
        "tune.storage": shared, "tune.study_name": "common"}))
    line = _main(["-d", "second", "tune", "--storage", shared, "--study-name", "common"],
                 neo4j_settings, monkeypatch, capsys)
    assert "tunes dataset 'first', not 'second'" in line
    with pytest.raises(ConfigError, match="another search space"):
        open_study(Settings(dataset="first").with_overrides({
            "tune.storage": shared, "tune.study_name": "common",
            "tune.space": {"lr": {"low": 0.001, "high": 0.01}}}))
