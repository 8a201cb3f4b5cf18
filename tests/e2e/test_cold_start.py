"""The cold-start protocol end to end on a small synthetic catalogue through the real CLI,
stages and Neo4j: no cold item has a training interaction, a CO_OCCURS edge, or a place in any
user text; cold users are never trained on and their texts name only their given items; the
protocol is labelled on the dataset, its nodes and its training runs; metrics come per group;
a cold split is made once."""
from __future__ import annotations

import json
import re
import uuid
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mllmrec.config import Settings
from mllmrec.dataset import drop_dataset
from mllmrec.enrich.describe import describe_items
from mllmrec.enrich.embed import embed_texts
from mllmrec.enrich.profile import profile_users
from mllmrec.errors import ConfigError
from mllmrec.graph.build import build_graph
from tests.conftest import run_cli

pytestmark = pytest.mark.e2e

N_USERS, N_ITEMS = 60, 40
GENRES = ("western", "comedy", "space opera", "documentary")


def _title(k: int) -> str:
    return f"Qx{k:02d}z"  # unique, never a substring of another title


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> Path:
    tmp_path = tmp_path_factory.mktemp("cold-source")
    rng = np.random.default_rng(5)
    rows = []
    for u in range(N_USERS):
        taste = rng.integers(0, len(GENRES))
        liked = [k for k in range(N_ITEMS) if k % len(GENRES) == taste]
        others = [k for k in range(N_ITEMS) if k % len(GENRES) != taste]
        items = [*rng.choice(liked, 7, replace=False), *rng.choice(others, 5, replace=False)]
        rows += [(f"u{u:02d}", f"i{k:02d}", 1_000 + 10 * n + u) for n, k in enumerate(items)]
    pd.DataFrame(rows, columns=["user_id", "item_id", "timestamp"]).to_csv(tmp_path / "inter.csv",
                                                                           index=False)
    pd.DataFrame({"item_id": [f"i{k:02d}" for k in range(N_ITEMS)],
                  "title": [_title(k) for k in range(N_ITEMS)],
                  "genre": [GENRES[k % len(GENRES)] for k in range(N_ITEMS)]}
                 ).to_csv(tmp_path / "items.csv", index=False)
    return tmp_path


def _ingest(neo4j_settings, dataset: str, folder: Path, *flags: str):
    return run_cli(["-d", dataset, "ingest", *flags, "csv", str(folder / "inter.csv"),
                    "--items", str(folder / "items.csv"), "--domain", "movies"], neo4j_settings)


@pytest.fixture(scope="module")
def cold(store, neo4j_settings, source, tmp_path_factory):
    """The cold-start dataset, ingested through the CLI and enriched (--no-llm), embedded
    (MiniLM) and graph-built by the real stages; shared by the module's tests (read-only but
    for training runs), dropped afterwards."""
    name = f"t-cold-{uuid.uuid4().hex[:8]}"
    flags = ("--seed", "3", "--cold-items", "0.2", "--cold-users", "0.2", "--cold-given", "4")
    result = _ingest(neo4j_settings, name, source, *flags)
    assert result.exit_code == 0, result.output
    assert "COLD-START split: 8 items and 12 users held out" in result.output
    s = Settings(dataset=name, neo4j=neo4j_settings).with_overrides({
        "enrich.no_llm": True, "enrich.image_cache": str(tmp_path_factory.mktemp("img")),
        "train.runs_dir": str(tmp_path_factory.mktemp("runs")), "graph.knn_k": 5,
        "graph.knn_jac": 5, "graph.pure": 0.0})
    for stage in (describe_items, profile_users, embed_texts, build_graph):
        stage(store, s)
    yield s, flags
    drop_dataset(store, name)


def _q(store, text: str, **params):
    return store.run_text(text, **params)


def test_cold_items_and_users_never_reach_training_inputs(store, cold):
    s, _ = cold
    d = s.dataset
    cold_items = {r["id"] for r in _q(store, "MATCH (i:Item {dataset: $d, cold: true}) RETURN i.id AS id", d=d)}
    cold_users = {r["id"] for r in _q(store, "MATCH (u:User {dataset: $d, cold: true}) RETURN u.id AS id", d=d)}
    assert len(cold_items) == 8 and len(cold_users) == 12
    # no cold item has a training (or given) interaction; every one has held-out ones
    splits = _q(store, "MATCH (:User {dataset: $d})-[x:INTERACTED]->(i:Item {cold: true}) "
                "RETURN DISTINCT x.split AS s", d=d)
    assert {r["s"] for r in splits} == {1, 2}
    # no cold user has a training interaction; each has exactly its 4 given ones
    given = _q(store, "MATCH (u:User {dataset: $d, cold: true})-[x:INTERACTED]->(i:Item) "
               "RETURN u.id AS u, collect([x.split, i.id, x.ts]) AS xs", d=d)
    assert len(given) == 12
    for row in given:
        labels = [x[0] for x in row["xs"]]
        assert 0 not in labels and labels.count(3) == 4
        given_ts = [x[2] for x in row["xs"] if x[0] == 3]
        assert all(x[1] not in cold_items for x in row["xs"] if x[0] == 3)
        warm_rest = [x[2] for x in row["xs"] if x[0] != 3 and x[1] not in cold_items]
        assert max(given_ts) <= min(warm_rest)  # the oldest warm interactions are given
    # no CO_OCCURS edge touches a cold item (co-occurrence reads training only); SIMILAR may
    n_co = _q(store, "MATCH (a:Item {dataset: $d})-[r:CO_OCCURS]-(b:Item) WHERE a.cold "
              "RETURN count(r) AS n", d=d)[0]["n"]
    assert n_co == 0
    assert _q(store, "MATCH (:Item {dataset: $d})-[r:CO_OCCURS]->() RETURN count(r) AS n", d=d)[0]["n"] > 0
    # no user text names a cold item; a cold user's text names exactly its given items
    titles = {r["id"]: r["t"] for r in _q(store, "MATCH (i:Item {dataset: $d}) RETURN i.id AS id, "
                                             "i.title AS t", d=d)}
    texts = _q(store, "MATCH (u:User {dataset: $d}) RETURN u.id AS u, u.preference AS p", d=d)
    assert all(r["p"] for r in texts)
    for r in texts:
        named = {i for i, t in titles.items() if t in r["p"]}
        assert not named & cold_items, r["u"]
        if r["u"] in cold_users:
            row = next(g for g in given if g["u"] == r["u"])
            assert named == {x[1] for x in row["xs"] if x[0] == 3}
    # the protocol is on the dataset node
    proto = _q(store, "MATCH (d:Dataset {name: $d}) RETURN d.cold_items AS i, d.cold_users AS u, "
               "d.cold_given AS g, d.cold_seed AS s", d=d)[0]
    assert proto == {"i": 0.2, "u": 0.2, "g": 4, "s": 3}


def test_training_runs_are_labelled_and_report_cold_groups(store, neo4j_settings, cold):
    s, _ = cold
    d = s.dataset
    common = ["--epochs", "3", "--threads", "1", "--runs-dir", str(s.train.runs_dir)]
    for model in ("mllmrec", "hybrid"):
        result = run_cli(["-d", d, "train", "--model", model,
                          "--negatives", "interacted", *common], neo4j_settings)
        assert result.exit_code == 0, result.output
        assert "COLD-START split (cold items 0.2, cold users 0.2)" in result.output
        assert "test_cold_among_cold" in result.output
    runs = _q(store, "MATCH (r:TrainingRun {dataset: $d}) RETURN r.cold_items AS i, "
              "r.cold_users AS u, r.metrics AS m, r.test_cold_among_cold_recall_20 AS r20", d=d)
    assert len(runs) == 2
    for r in runs:
        assert (r["i"], r["u"]) == (0.2, 0.2) and r["r20"] is not None
        m = json.loads(r["m"])
        assert {"valid", "test", "test_warm", "test_cold_items", "test_cold_among_cold",
                "test_cold_users"} <= set(m)
        # 8 cold items among 8 candidates: Recall@20 ranks them all
        assert m["test_cold_among_cold"]["recall@20"] == pytest.approx(1.0)
    listed = run_cli(["-d", d, "runs"], neo4j_settings)
    assert listed.output.count("COLD-START (items 0.2, users 0.2)") == 2
    status = run_cli(["-d", d, "status"], neo4j_settings)
    assert "COLD-START split" in status.output
    ref = run_cli(["-d", d, "evaluate", "--reference", "text-knn-max"], neo4j_settings)
    assert ref.exit_code == 0, ref.output
    assert re.search(r"recall@20 .*", ref.output) and "test_cold_users" in ref.output


def test_cold_split_is_made_once(store, neo4j_settings, cold, source):
    s, flags = cold
    before = _q(store, "MATCH (:User {dataset: $d})-[x:INTERACTED]->(i:Item) "
                "RETURN i.id AS i, x.split AS s ORDER BY i, s", d=s.dataset)
    again = _ingest(neo4j_settings, s.dataset, source, *flags)  # a re-run repeats it
    assert again.exit_code == 0, again.output
    warm = _ingest(neo4j_settings, s.dataset, source, "--seed", "3")
    other = _ingest(neo4j_settings, s.dataset, source, "--seed", "3", "--cold-items", "0.3")
    for refused in (warm, other):  # one clear line (main() prints the ConfigError)
        message = str(refused.exception)
        assert refused.exit_code == 1 and isinstance(refused.exception, ConfigError), refused.output
        assert "cold-start protocol" in message and "new dataset" in message and "\n" not in message
    after = _q(store, "MATCH (:User {dataset: $d})-[x:INTERACTED]->(i:Item) "
               "RETURN i.id AS i, x.split AS s ORDER BY i, s", d=s.dataset)
    assert after == before


def test_bench_measures_every_method_on_a_cold_split(store, cold):
    """The cold-start bench section's per-seed step on the prepared dataset (2 epochs): every
    trained model with its pools and every reference method, per group, and the summary."""
    from bench.cold_start import REFERENCES, TRAINED, measure_seed, summarise
    from bench.common import split_fingerprint
    from bench.options import COLD_RUNS
    from mllmrec.train.data import TEST, load_train_data

    s = cold[0].with_overrides({"train.epochs": 2, "train.patience": 1, "train.threads": 1,
                                "train.eval_every": 2})
    out = measure_seed(store, s, "cold-items", {"seed": 3})
    want = {f"{TRAINED[model]} ({pool})" for model, pool in (r.split(":") for r in COLD_RUNS)}
    # the cheap references first, so an interrupted seed has them
    assert list(out["methods"])[:len(REFERENCES)] == list(REFERENCES.values())
    assert set(out["methods"]) == want | set(REFERENCES.values())
    assert all(m["epochs"] == 2 for m in out["methods"].values() if m["negatives"])
    # the split's fingerprint is the one of the split as pulled again, and only of it
    data = load_train_data(store, s.dataset, features=False, item_graph=False, user_features=False)
    assert out["split"] == split_fingerprint(data)
    data.splits[TEST] = data.splits[TEST][::-1]
    assert out["split"] != split_fingerprint(data)
    n_cold_users = out["methods"]["popularity"]["metrics"]["test_cold_among_cold"]["users"]
    for m in out["methods"].values():
        assert {"test_warm", "test_cold_items", "test_cold_among_cold", "test_cold_users"} <= set(m["metrics"])
        assert len(m["per_user"]) == n_cold_users
    # popularity never puts a cold item (0 training interactions) above a warm one
    assert out["methods"]["popularity"]["metrics"]["test_cold_items"]["recall@20"] == 0.0
    t = summarise("cold-items", [{"seed": 3, **out}])
    assert {r["label"] for r in t["methods"] if r.get("chosen")} <= want
    assert {p["a"].split(" (")[0] for p in t["paired_tests"]} == {"MLLMRec", "Hybrid"}
