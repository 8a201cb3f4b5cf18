"""The paper-scale bench's inductive-serving rows (issue 19, Speed) on a small synthetic
catalogue: after one trained epoch, new items and users go in through the real incremental
ingest and ``refresh`` serves them. The rows must report what the database holds, read back
here with queries of the test's own: exactly the new items and users served from text, the
touched-items count equal to the existing items that now point at a new one, and refreshed
users recommended. A refresh that wrote nothing fails it."""
from __future__ import annotations

import pytest

from bench.loading import ingest, store_synthetic_embeddings
from bench.paper_scale import refresh_rows
from bench.synthetic import make_synthetic
from mllmrec.graph.build import build_graph
from mllmrec.serve import recommend_for
from mllmrec.train.job import train_model

pytestmark = pytest.mark.e2e

NEW = 30


def test_refresh_rows_report_what_refresh_served(store, settings):
    settings = settings.with_overrides({"train.epochs": 1, "train.threads": 1,
                                        "train.batch_size": 256, "graph.pure": 0.4})
    d = settings.dataset
    syn = make_synthetic(3_000, seed=3)
    prepared, _ = ingest(store, settings, syn.catalogue, {"format": "synthetic"})
    store_synthetic_embeddings(store, d, syn, prepared)
    build_graph(store, settings)
    train_model(store, settings)
    old_items = {r["id"] for r in store.run_text(
        "MATCH (i:Item {dataset: $d}) RETURN i.id AS id", d=d)}

    counts: dict = {}
    rows = {r["stage"]: r for r in refresh_rows(store, settings, syn, NEW, 5, counts)}
    refresh = next(r for s, r in rows.items() if s.startswith("refresh:"))
    assert refresh["ok"] is True, refresh
    assert refresh["target"] == f"serves exactly the {NEW:,} + {NEW:,} new; <= 30 s"

    served = store.run_text(
        "MATCH (d:Dataset {name: $d}) MATCH (n {dataset: $d}) "
        "WHERE n.rec_inductive AND n.rec_run = d.serving_run "
        "RETURN n:Item AS item, n.id AS id, size(n.rec_vector) AS dim", d=d)
    items = {r["id"] for r in served if r["item"]}
    users = {r["id"] for r in served if not r["item"]}
    assert items == {f"n{k}" for k in range(NEW)} and users == {f"nu{k}" for k in range(NEW)}
    assert len({r["dim"] for r in served}) == 1
    assert counts["refreshed_items"] == counts["refreshed_users"] == NEW

    build = store.run("graph/active_build", dataset=d)[0]["id"]
    touched = store.run_text(
        "MATCH (a:Item {dataset: $d})-[r:SIMILAR {build: $b}]->(n:Item) "
        "WHERE a.id IN $old AND NOT n.id IN $old "
        "RETURN count(DISTINCT a) AS n", d=d, b=build, old=sorted(old_items))[0]["n"]
    assert touched > 0 and counts["touched_items"] == touched
    assert f"{touched:,} existing items gained a new neighbour" in refresh["note"]

    assert rows["recommend p50, refreshed users"]["note"].startswith(f"over {NEW} new users")
    p95 = rows["recommend p95, refreshed users"]
    assert p95["target"] == "users marked new: from text; <= 0.05 s" and p95["seconds"] > 0
    new_user = recommend_for(store, d, "nu0", 10)
    assert new_user.user_inductive and len(new_user.items) == 10
