"""The protocol benchmark end to end on a small MovieLens subset: both user-text scopes over
a two-point grid through the real stages and trainer, the leaky scope labelled in Neo4j, the
honest state restored afterwards, and per-user test metrics that agree with the trainer's own
evaluation (an independent code path)."""
from __future__ import annotations

import json

import numpy as np
import pytest

from bench.grid import built, points, prepare_users
from bench.options import GridSpec
from bench.protocol import run_protocol
from mllmrec.enrich.describe import describe_items
from mllmrec.graph.build import build_graph
from tests.fixtures_models import ingest, movie_catalogue, small_catalogue  # noqa: F401

pytestmark = pytest.mark.e2e


def test_protocol_cells_labels_and_restored_state(store, settings, movie_catalogue):  # noqa: F811
    ingest(store, settings.dataset, small_catalogue(movie_catalogue, 30, 16))
    s = settings.with_overrides({"enrich.no_llm": True, "enrich.device": "cpu",
                                 "train.device": "cpu", "train.epochs": 2, "train.patience": 2,
                                 "train.threads": 1})
    describe_items(store, s)
    prepare_users(store, s)
    build_graph(store, s)
    grid = points(GridSpec(knn_k=(3, s.graph.knn_k), knn_jac=(s.graph.knn_jac,), pure=(s.graph.pure,)))
    seen = []
    out = run_protocol(store, s, grid, (7,), on_progress=lambda part: seen.append(part["missing"]))
    assert seen == [["all"], ["all"], [], []]  # saved after every grid point
    assert [(c["scope"], c["selection"]) for c in out["cells"]] == [
        ("train", "valid"), ("all", "valid"), ("train", "test"), ("all", "test")]
    for rows in out["grid"].values():
        assert [r["config"] for r in rows] == grid
        for r in rows:
            (run,) = r["runs"]
            assert run["seed"] == 7 and run["epochs"] <= 2
            # the per-user values, from the vectors stored in Neo4j, average to what the
            # trainer's evaluation reported
            assert np.mean(r["per_user_test"]["recall@20"]) == pytest.approx(
                r["test"]["recall@20"], abs=1e-6)
            assert np.mean(r["per_user_test"]["ndcg@20"]) == pytest.approx(
                r["test"]["ndcg@20"], abs=1e-6)
    honest = out["cells"][0]
    assert honest["inflation"]["recall@20"]["absolute"] == 0
    assert out["missing"] == [] and out["missing_points"] == {"train": [], "all": []}
    best_valid = max(out["grid"]["train"], key=lambda r: r["valid"]["recall@20"])
    assert honest["config"] == best_valid["config"]
    # the leaky profile run is labelled; the users are back on training-only texts and the
    # configured graph is the active one
    params = [json.loads(r["p"]) for r in store.run_text(
        "MATCH (r:StageRun {dataset: $d, stage: 'profile'}) RETURN r.params AS p", d=s.dataset)]
    assert {p["history_scope"] for p in params} == {"train", "all"}
    scopes = store.run_text("MATCH (u:User {dataset: $d}) WHERE u.preference IS NOT NULL "
                            "RETURN DISTINCT u.preference_scope AS scope", d=s.dataset)
    assert scopes == [{"scope": "train"}]
    # every training run is labelled in Neo4j with the scope of the user texts it used
    labels = store.run_text("MATCH (r:TrainingRun {dataset: $d}) RETURN r.user_text_scope AS "
                            "scope, count(*) AS runs ORDER BY scope", d=s.dataset)
    assert labels == [{"scope": "all", "runs": len(grid)}, {"scope": "train", "runs": len(grid)}]
    active = store.run("graph/active_build", dataset=s.dataset)[0]
    assert {k: active[k] for k in ("knn_k", "knn_jac", "pure")} == built(s)
