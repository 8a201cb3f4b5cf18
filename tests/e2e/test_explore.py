"""Every query in cypher/explore/ runs against the test database: tables return rows, graph
views return nodes and relationships of the expected labels and types, equal to references
computed here from the raw edges and vectors; only the active build's edges are shown; no
query scans a whole label; `explore` lists, runs and links them."""
from __future__ import annotations

import re
import uuid

import neo4j
import pytest

from mllmrec.ops.explore import get_query, list_queries, run_explore, run_graph
from tests.conftest import run_cli
from tests.e2e.ops_fixtures import Processed, processed_dataset

pytestmark = pytest.mark.e2e

EXPECTED = {"user_recommendations", "why_recommended", "item_neighbours", "training_runs",
            "items_without_descriptions", "stage_runs", "user_neighbourhood",
            "item_neighbourhood", "recommendation_path", "dataset_overview"}


@pytest.fixture(scope="session")
def processed(store, neo4j_settings, synthetic_movielens, tmp_path_factory, request) -> Processed:
    return processed_dataset(store, neo4j_settings, synthetic_movielens, tmp_path_factory, request)


def test_every_explore_query_returns_rows(store, processed):
    queries = {q.name: q for q in list_queries()}
    assert set(queries) >= EXPECTED
    user = store.run("ops/sample_user", dataset=processed.name)[0]["id"]
    recs = run_explore(store, "user_recommendations", processed.name, {"user": user, "k": "5"})
    top = [r["item"] for r in recs if r["kind"] == "recommendation"]
    history = [r["item"] for r in recs if r["kind"] == "history"]
    assert len(top) == 5 and len(history) == 5 and not set(top) & set(history)
    params = {"user": user, "item": top[0]}
    for name, q in queries.items():
        assert q.summary and not q.summary.startswith("/"), name
        args = {k: v for k, v in params.items() if k in q.defaults}
        if q.graph_view:
            assert run_graph(store, name, processed.name, args).nodes, f"'{name}' drew no node"
        else:
            assert run_explore(store, name, processed.name, args), f"'{name}' returned no rows"


def test_recommendation_scores_are_dot_products(store, processed):
    """The Browser query's scores equal the dot products of the stored vectors (numpy)."""
    import numpy as np

    user = store.run("ops/sample_user", dataset=processed.name)[0]["id"]
    rows = run_explore(store, "user_recommendations", processed.name, {"user": user, "k": "3"})
    vec = store.run_text("MATCH (n {dataset: $d}) WHERE (n:User AND n.id = $u) OR (n:Item AND n.id IN $i) "
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


# ---- graph views, checked against references computed here from raw edges and vectors ----

def _active_build(store, dataset: str) -> str:
    """The active build, found without the project's query: the one build flagged active."""
    rows = store.run_text("MATCH (b:GraphBuild) WHERE b.dataset = $d AND b.active RETURN b.id AS id",
                          d=dataset)
    assert len(rows) == 1
    return rows[0]["id"]


def _edges(store, dataset: str, item_ids) -> list[dict]:
    """Every CO_OCCURS / SIMILAR edge touching the items, any build, as plain rows."""
    return store.run_text(
        "MATCH (a:Item)-[r:CO_OCCURS|SIMILAR]->(b:Item) WHERE a.dataset = $d AND "
        "(a.id IN $ids OR b.id IN $ids) RETURN a.id AS a, b.id AS b, type(r) AS type, "
        "r.build AS build, coalesce(r.jaccard, r.cosine) AS w, elementId(r) AS eid",
        d=dataset, ids=list(item_ids))


def _top_k(store, dataset: str, user: str, k: int) -> list[str]:
    """The user's top-k unseen items by dot product, with numpy."""
    import numpy as np

    rows = store.run_text(
        "MATCH (d:Dataset {name: $d}) MATCH (n) WHERE n.dataset = $d AND n.rec_run = d.serving_run "
        "AND (n:Item OR (n:User AND n.id = $u)) RETURN n:User AS is_user, n.id AS id, "
        "n.rec_vector AS v, [(n)<-[:INTERACTED]-(:User {dataset: $d, id: $u}) | 1] AS seen",
        d=dataset, u=user)
    u = np.array(next(r["v"] for r in rows if r["is_user"]))
    scored = sorted((-float(u @ np.array(r["v"])), r["id"]) for r in rows
                    if not r["is_user"] and not r["seen"])
    return [i for _, i in scored[:k]]


def _history(store, dataset: str, user: str, n: int) -> list[str]:
    rows = store.run_text("MATCH (u:User {dataset: $d, id: $u})-[x:INTERACTED]->(i) WHERE x.split = 0 "
                          "RETURN i.id AS id, x.ts AS ts", d=dataset, u=user)
    return [r["id"] for r in sorted(rows, key=lambda r: (-r["ts"], r["id"]))[:n]]


def test_user_neighbourhood_is_history_recommendations_and_links(store, processed):
    d = processed.name
    user = store.run("ops/sample_user", dataset=d)[0]["id"]
    view = run_graph(store, "user_neighbourhood", d, {"user": user, "history": "6", "k": "5"})
    users = [n for n in view.nodes if "User" in n.labels]
    items = {n["id"] for n in view.nodes if "Item" in n.labels}
    assert [u["id"] for u in users] == [user]
    history, top = _history(store, d, user, 6), _top_k(store, d, user, 5)
    assert items == set(history) | set(top)
    trained = [r for r in view.relationships if r.type == "INTERACTED"]
    assert sorted(r.end_node["id"] for r in trained) == sorted(history)
    build = _active_build(store, d)
    shown = set(history) | set(top)
    expected = {e["eid"] for e in _edges(store, d, top)
                if e["build"] == build and e["a"] in shown and e["b"] in shown
                and (e["a"] in top or e["b"] in top) and e["a"] != e["b"]}
    links = {r.element_id for r in view.relationships if r.type != "INTERACTED"}
    assert links == expected


def test_item_neighbourhood_one_and_two_hops(store, processed):
    d = processed.name
    build = _active_build(store, d)
    item = store.run_text("MATCH (i:Item)-[r:CO_OCCURS]->() WHERE i.dataset = $d RETURN i.id AS id "
                          "ORDER BY i.id LIMIT 1", d=d)[0]["id"]
    edges = [e for e in _edges(store, d, [item]) if e["build"] == build and e["a"] != e["b"]]
    expected = set()
    for kind in ("CO_OCCURS", "SIMILAR"):
        mine = sorted((e for e in edges if e["type"] == kind),
                      key=lambda e: (-e["w"], e["b"] if e["a"] == item else e["a"]))
        expected |= {e["eid"] for e in mine[:4]}
    one = run_graph(store, "item_neighbourhood", d, {"item": item, "limit": "4"})
    assert {n.labels for n in one.nodes} == {frozenset({"Item"})}
    assert {r.element_id for r in one.relationships} == expected
    two = run_graph(store, "item_neighbourhood", d, {"item": item, "limit": "4", "hops": "2"})
    assert expected < {r.element_id for r in two.relationships}
    assert len(two.nodes) > len(one.nodes)
    assert all(r["build"] == build for r in two.relationships)


def test_recommendation_path_goes_user_history_edge_item(store, processed):
    d = processed.name
    build = _active_build(store, d)
    user = store.run("ops/sample_user", dataset=d)[0]["id"]
    history = set(_history(store, d, user, 10**6))
    linked = [(e["a"] if e["b"] in history else e["b"], e["w"]) for e in _edges(store, d, history)
              if e["build"] == build and (e["a"] in history) != (e["b"] in history)]
    item = max(linked, key=lambda t: t[1])[0]
    rows = store.run_text(get_query("recommendation_path").text,
                          **get_query("recommendation_path").params(d, {"user": user, "item": item}))
    assert rows and all(r["path"] is not None for r in rows)
    view = run_graph(store, "recommendation_path", d, {"user": user, "item": item})
    types = {r.type for r in view.relationships}
    assert "INTERACTED" in types and types - {"INTERACTED"} <= {"CO_OCCURS", "SIMILAR"}
    for r in view.relationships:
        if r.type == "INTERACTED":
            assert r.start_node["id"] == user and r.end_node["id"] in history
        else:
            assert r["build"] == build and item in (r.start_node["id"], r.end_node["id"])


def test_dataset_overview_is_small_and_connected(store, processed):
    d = processed.name
    build = _active_build(store, d)
    view = run_graph(store, "dataset_overview", d, {"items": "15", "users": "3", "per_item": "2"})
    items = [n for n in view.nodes if "Item" in n.labels]
    assert len(items) == 15 and len([n for n in view.nodes if "User" in n.labels]) == 3
    popular = store.run_text("MATCH (i:Item)<-[x:INTERACTED]-() WHERE i.dataset = $d "
                             "RETURN i.id AS id, count(x) AS n ORDER BY n DESC, id LIMIT 15", d=d)
    ids = {r["id"] for r in popular}
    assert {n["id"] for n in items} == ids
    links = [r for r in view.relationships if r.type != "INTERACTED"]
    assert links and {r.type for r in links} <= {"CO_OCCURS", "SIMILAR"}
    for r in links:
        assert r["build"] == build and r.start_node["id"] != r.end_node["id"]
        assert {r.start_node["id"], r.end_node["id"]} <= ids
    per_source = {}
    for r in links:
        per_source[r.start_node["id"]] = per_source.get(r.start_node["id"], 0) + 1
    assert max(per_source.values()) <= 2
    assert all(r.end_node["id"] in ids for r in view.relationships if r.type == "INTERACTED")


def test_running_builds_and_a_runs_own_build_are_not_shown(store, processed):
    """A build in progress writes edges next to the active build's, and the serving run may
    have been trained on a build a rebuild replaced: explore shows the active build only."""
    d = processed.name
    user = store.run("ops/sample_user", dataset=d)[0]["id"]
    history, top = _history(store, d, user, 1), _top_k(store, d, user, 1)
    other = f"test-running-{uuid.uuid4().hex[:8]}"
    store.run("graph/start_build", id=other, dataset=d, knn_k=1, knn_jac=1, pure=0.0,
              approximate=False, params="{}", side=False, inputs=None)
    store.run_text("MATCH (a:Item {dataset: $d, id: $a}), (b:Item {dataset: $d, id: $b}) "
                   "CREATE (a)-[:SIMILAR {build: $build, cosine: 0.999}]->(b)",
                   d=d, a=history[0], b=top[0], build=other)
    run = store.run_text("MATCH (ds:Dataset {name: $d}) MATCH (r:TrainingRun {id: ds.serving_run}) "
                         "WITH r, r.graph_build AS was SET r.graph_build = $other "
                         "RETURN r.id AS id, was", d=d, other=other)[0]
    try:
        for name, args in [("user_neighbourhood", {"user": user}),
                           ("recommendation_path", {"user": user, "item": top[0]}),
                           ("item_neighbourhood", {"item": top[0], "limit": "100"}),
                           ("dataset_overview", {"items": "200"})]:
            view = run_graph(store, name, d, args)
            assert all(r.get("build") != other for r in view.relationships), name
        why = run_explore(store, "why_recommended", d, {"user": user, "item": top[0]})
        assert why and all(r["similar_cosine"] != pytest.approx(0.999) for r in why)
        assert not any(r["relation"] == "SIMILAR" and r["weight"] == pytest.approx(0.999)
                       for r in run_explore(store, "item_neighbours", d, {"item": history[0]}))
    finally:
        store.run_implicit("graph/drop_build_edges", dataset=d, build=other)
        store.run("graph/fail_build", id=other, error="test build")
        store.run_text("MATCH (r:TrainingRun {id: $run}) SET r.graph_build = $was",
                       run=run["id"], was=run["was"])


def test_no_explore_query_scans_a_label_without_the_dataset_key(store, processed):
    """EXPLAIN every explore query: no all-nodes or label scan, no relationship-type scan,
    and every index lookup keyed by the dataset (or a unique key)."""
    for q in list_queries():
        params = q.params(processed.name, {})
        _, summary, _ = store.driver.execute_query("EXPLAIN " + q.text, parameters_=params,
                                                   database_=store.database)
        for op, details in _operators(summary.plan):
            assert not re.search(r"AllNodesScan|ByLabelScan|ByLabelsScan|RelationshipTypeScan", op), \
                f"{q.name}: {op} {details}"
            if "Index" in op:
                assert "dataset" in details or "name" in details or op.endswith("UniqueIndexSeek"), \
                    f"{q.name}: {op} {details}"


def _operators(plan: dict):
    args = plan.get("args") or plan.get("arguments") or {}
    yield plan["operatorType"], str(args.get("Details", ""))
    for child in plan.get("children", []):
        yield from _operators(child)


def test_explore_browser_url_opens_the_same_graph(neo4j_settings, processed, store, tmp_path):
    """The URL's editor text, run as Browser would run it, draws exactly the graph the
    parameterised query draws; the URL points at the configured HTTP port."""
    from urllib.parse import unquote, urlsplit

    config = tmp_path / "browser.yaml"
    config.write_text(f"neo4j:\n  http_port: {neo4j_settings.http_port}\n")
    user = store.run("ops/sample_user", dataset=processed.name)[0]["id"]
    out = run_cli(["--config", str(config), "-d", processed.name, "explore", "user_neighbourhood",
                   "--browser", "--param", f"user={user}"], neo4j_settings)
    assert out.exit_code == 0, out.output
    url = urlsplit(next(line for line in out.output.splitlines() if line.startswith("http://")))
    assert url.port == neo4j_settings.http_port and url.path == "/browser/"
    raw = dict(pair.split("=", 1) for pair in url.query.split("&"))
    assert raw["cmd"] == "edit"
    assert f':param user => "{user}"' in out.output
    assert f':param dataset => "{processed.name}"' in out.output

    pasted = store.driver.execute_query(unquote(raw["arg"]), database_=store.database,
                                        result_transformer_=neo4j.Result.graph)
    direct = run_graph(store, "user_neighbourhood", processed.name, {"user": user})
    assert {n.element_id for n in pasted.nodes} == {n.element_id for n in direct.nodes}
    assert {r.element_id for r in pasted.relationships} == {r.element_id for r in direct.relationships}
    assert len(direct.nodes) > 5


def test_explore_cli_draws_graph_views_as_edge_lists(neo4j_settings, processed, store):
    user = store.run("ops/sample_user", dataset=processed.name)[0]["id"]
    out = run_cli(["-d", processed.name, "explore", "user_neighbourhood", "--param", f"user={user}"],
                  neo4j_settings)
    assert out.exit_code == 0, out.output
    assert "1 User" in out.output and "INTERACTED" in out.output
