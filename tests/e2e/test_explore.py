"""Every query in cypher/explore/ runs against the test database and returns rows; `explore`
lists them with their one-line explanations."""
from __future__ import annotations

import pytest

from mllmrec.ops.explore import list_queries, run_explore
from tests.conftest import run_cli
from tests.e2e.ops_fixtures import Processed, processed_dataset

pytestmark = pytest.mark.e2e

EXPECTED = {"user_recommendations", "why_recommended", "item_neighbours", "training_runs",
            "items_without_descriptions", "stage_runs"}


@pytest.fixture(scope="session")
def processed(graph, neo4j_settings, tmp_path_factory, request) -> Processed:
    return processed_dataset(graph, neo4j_settings, tmp_path_factory, request)


def test_every_explore_query_returns_rows(graph, processed):
    queries = {q.name: q for q in list_queries()}
    assert EXPECTED <= set(queries)
    user = graph.run("ops/sample_user", dataset=processed.name)[0]["id"]
    recs = run_explore(graph, "user_recommendations", processed.name, {"user": user, "k": "5"})
    top = [r["item"] for r in recs if r["kind"] == "recommendation"]
    history = [r["item"] for r in recs if r["kind"] == "history"]
    assert len(top) == 5 and len(history) == 5 and not set(top) & set(history)
    params = {"user": user, "item": top[0]}
    for name, q in queries.items():
        assert q.summary and not q.summary.startswith("/"), name
        rows = run_explore(graph, name, processed.name, {k: v for k, v in params.items() if k in q.defaults})
        assert rows, f"explore query '{name}' returned no rows"


def test_recommendation_scores_are_dot_products(graph, processed):
    """The Browser query's scores equal the dot products of the stored vectors (numpy)."""
    import numpy as np

    user = graph.run("ops/sample_user", dataset=processed.name)[0]["id"]
    rows = run_explore(graph, "user_recommendations", processed.name, {"user": user, "k": "3"})
    vec = graph.run_text("MATCH (n {dataset: $d}) WHERE (n:User AND n.id = $u) OR (n:Item AND n.id IN $i) "
                         "RETURN labels(n)[0] AS label, n.id AS id, n.rec_vector AS v",
                         d=processed.name, u=user, i=[r["item"] for r in rows])
    u = np.array(next(r["v"] for r in vec if r["label"] == "User"))
    items = {r["id"]: np.array(r["v"]) for r in vec if r["label"] == "Item"}
    for r in rows:
        if r["kind"] == "recommendation":
            assert r["score"] == pytest.approx(float(u @ items[r["item"]]), rel=1e-5)


def test_explore_cli_lists_and_runs(neo4j_settings, processed):
    listed = run_cli(["explore"], neo4j_settings)
    assert listed.exit_code == 0
    for name in EXPECTED:
        assert name in listed.output
    ran = run_cli(["-d", processed.name, "explore", "training_runs"], neo4j_settings)
    assert ran.exit_code == 0 and "training_runs: " in ran.output
    bad = run_cli(["-d", processed.name, "explore", "training_runs", "--param", "nope=1"], neo4j_settings)
    assert bad.exit_code == 1 and "has no parameter" in str(bad.exception)
