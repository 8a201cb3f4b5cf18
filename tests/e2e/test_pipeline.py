"""`pipeline run` end to end on the synthetic MovieLens dataset minus its last 5%: every stage runs once,
an unchanged rerun skips every stage, fingerprints follow parameters and inputs, `status`
reports it all; a change of a semantic search setting rebuilds the graph (on a tiny
CSV source)."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from mllmrec.ops.stages import BUILD_GRAPH, DESCRIBE, STAGES, TRAIN
from tests.conftest import run_cli
from tests.e2e.ops_fixtures import Processed, processed_dataset

pytestmark = pytest.mark.e2e

ALL = ["ingest", *(s.name for s in STAGES)]


@pytest.fixture(scope="session")
def processed(store, neo4j_settings, synthetic_movielens, tmp_path_factory, request) -> Processed:
    return processed_dataset(store, neo4j_settings, synthetic_movielens, tmp_path_factory, request)


def _printed(output: str, status: str, stage: str) -> bool:
    """Whether the summary table has the row "| <stage> | <status> |"."""
    return re.search(rf"│\s*{re.escape(stage)}\s*│\s*{status}\s*│", output) is not None


def _stage_runs(store, dataset):
    return store.run_text("MATCH (s:StageRun {dataset: $d}) RETURN s.stage AS stage, "
                          "s.status AS status, s.input_fingerprint AS fp ORDER BY s.started_at",
                          d=dataset)


def test_first_run_ran_every_stage_and_serves(store, processed):
    out = processed.output
    assert "enrichment mode: --no-llm" in out
    runs = _stage_runs(store, processed.name)
    assert [r["stage"] for r in runs] == ALL
    assert all(r["status"] == "ok" and r["fp"] for r in runs)
    # Counts against the raw 95% file (pandas only).
    first = processed.first
    counts = store.run("dataset/counts", dataset=processed.name)[0]
    assert (counts["users"], counts["items"]) == (first["user"].nunique(), first["item"].nunique())
    serving = store.run_text("MATCH (d:Dataset {name: $d})<-[:TRAINED_ON]-(r:TrainingRun) "
                             "WHERE r.id = d.serving_run RETURN r.status AS status, r.epochs AS epochs",
                             d=processed.name)
    assert serving == [{"status": "ok", "epochs": 2}]
    for name in ALL:
        assert _printed(out, "ran", name), (name, out)


def test_unchanged_rerun_skips_every_stage(store, neo4j_settings, processed):
    before = len(_stage_runs(store, processed.name))
    result = run_cli(processed.cli("pipeline", "run", "--source", "movielens", str(processed.folder),
                                   "--posters", str(processed.posters), "--no-llm", "--epochs", "2",
                                   "--set", f"train.runs_dir={processed.runs_dir}"), neo4j_settings)
    assert result.exit_code == 0, result.output
    for name in ALL:
        assert _printed(result.output, "skipped", name), (name, result.output)
    assert len(_stage_runs(store, processed.name)) == before  # nothing ran, nothing recorded


def test_fingerprints_follow_parameters_and_inputs(store, neo4j_settings, processed):
    s = processed.settings(neo4j_settings)
    base = {st.name: st.input_fingerprint(store, s) for st in (DESCRIBE, BUILD_GRAPH, TRAIN)}
    s2 = s.with_overrides({"graph.pure": 0.5})
    assert BUILD_GRAPH.input_fingerprint(store, s2) != base["build-graph"]
    assert DESCRIBE.input_fingerprint(store, s2) == base["describe"]
    s3 = s.with_overrides({"train.epochs": 3})
    assert TRAIN.input_fingerprint(store, s3) != base["train"]
    assert BUILD_GRAPH.input_fingerprint(store, s3) == base["build-graph"]
    # The stored fingerprints are the ones an unchanged pipeline computes now.
    for name, fp in base.items():
        assert store.run("ops/last_input", dataset=s.dataset, stage=name)[0]["input_fingerprint"] == fp


def test_status_reports_stages_serving_run_and_lock(store, neo4j_settings, processed):
    result = run_cli(["-d", processed.name, "status"], neo4j_settings)
    assert result.exit_code == 0, result.output
    serving = store.run("train/serving_run", dataset=processed.name)[0]["run"]
    text = result.output
    assert processed.name in text and serving in text and "no retrain running" in text
    for name in ALL:
        assert name in text
    assert "valid/recall@20" in text


def test_pipeline_default_builds_user_texts_from_training_only(store, processed):
    scopes = store.run_text("MATCH (u:User {dataset: $d}) WHERE u.preference IS NOT NULL "
                            "RETURN DISTINCT u.preference_scope AS scope", d=processed.name)
    assert scopes == [{"scope": "train"}]
    params = store.run_text("MATCH (s:StageRun {dataset: $d, stage: 'profile'}) "
                            "RETURN s.params AS p", d=processed.name)
    assert params and all('"history_scope": "train"' in r["p"] for r in params)
    assert "LEAKY" not in processed.output


def _tiny_source(folder: Path) -> list[str]:
    """A 12-user, 15-item CSV source (interactions and titles): every stage runs in seconds."""
    folder.mkdir()
    rows = ["user,item,rating,timestamp"]
    for u in range(12):
        rows += [f"u{u},i{(u + j * 2) % 15},{1 + (u + j) % 5},{1_000 + u * 100 + j}" for j in range(8)]
    (folder / "inter.csv").write_text("\n".join(rows) + "\n")
    titles = ["id,title,category"] + [f"i{i},Film number {i},{'drama' if i % 2 else 'comedy'}"
                                      for i in range(15)]
    (folder / "items.csv").write_text("\n".join(titles) + "\n")
    return ["--source", "csv", str(folder / "inter.csv"), "--items", str(folder / "items.csv")]


def test_changing_a_semantic_search_setting_rebuilds_the_graph(neo4j_settings, dataset_name,
                                                                  tmp_path):
    """graph.index_candidates and graph.approximate_above choose the semantic edges, so a
    change of either reruns build-graph (and train, which reads the new build) and nothing
    before it; the same settings again skip everything."""
    source = _tiny_source(tmp_path / "tiny")
    base = ["-d", dataset_name, "pipeline", "run", *source, "--no-llm", "--epochs", "1",
            "--set", f"train.runs_dir={tmp_path / 'runs'}", "--set", "train.batch_size=16"]
    first = run_cli(base, neo4j_settings)
    assert first.exit_code == 0, first.output
    runs = [*base]
    for change in ("graph.index_candidates=7", "graph.approximate_above=3"):
        runs += ["--set", change]
        changed = run_cli(runs, neo4j_settings)
        assert changed.exit_code == 0, changed.output
        for name in ("ingest", "describe", "profile", "embed"):
            assert _printed(changed.output, "skipped", name), (change, name, changed.output)
        for name in ("build-graph", "train"):
            assert _printed(changed.output, "ran", name), (change, name, changed.output)
    again = run_cli(runs, neo4j_settings)
    assert again.exit_code == 0, again.output
    for name in ALL:
        assert _printed(again.output, "skipped", name), (name, again.output)
