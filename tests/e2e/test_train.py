"""Training end to end on the synthetic MovieLens dataset through Neo4j: the run node, stored vectors that
reproduce the model's scores, recommendations that exclude seen items, and failed or
incomplete runs that never replace the serving run, and ``train --deterministic`` runs that
repeat exactly."""
from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from safetensors.torch import load_file

from mllmrec.errors import StageError
from mllmrec.provenance import code_version
from mllmrec.serve import recommend
from mllmrec.train import writeback
from mllmrec.train.checkpoint import warm_start
from mllmrec.train.data import load_train_data
from mllmrec.train.job import train_model
from mllmrec.train.registry import build_model, load_data
from tests.conftest import run_cli
from tests.e2e.train_fixtures import trainable  # noqa: F401

pytestmark = pytest.mark.e2e


def _stored(store, dataset, run):
    """{id: vector} of users and items as stored for ``run`` (read with plain Cypher)."""
    def read(label):
        rows = store.run_text(f"MATCH (n:{label} {{dataset: $d}}) WHERE n.rec_run = $r "
                              "RETURN n.id AS id, n.rec_vector AS v", d=dataset, r=run)
        return {r["id"]: np.asarray(r["v"], dtype=np.float64) for r in rows}
    return read("User"), read("Item")


def _serving(store, dataset):
    return store.run_text("MATCH (d:Dataset {name: $d}) RETURN d.serving_run AS run", d=dataset)[0]["run"]


@pytest.fixture(scope="module")
def first_run(store, trainable):  # noqa: F811
    s = trainable.with_overrides({"train.epochs": 3, "train.patience": 20})
    return s, train_model(store, s, progress=False)


def test_item_graph_pulled_from_neo4j_is_normalised_g(store, trainable, synthetic_movielens):  # noqa: F811
    """A = D^-1/2 (G_s + G_c) D^-1/2 rebuilt here from the stored edges with plain Cypher."""
    data = load_train_data(store, trainable.dataset, features=True, item_graph=True)
    pos = {x: k for k, x in enumerate(data.item_ids)}
    n = data.n_items
    g = np.zeros((n, n))
    for r in store.run_text("MATCH (a:Item {dataset: $d})-[r:SIMILAR|CO_OCCURS]->(b) "
                            "RETURN a.id AS a, b.id AS b, type(r) AS t, r.jaccard AS j",
                            d=trainable.dataset):
        g[pos[r["a"]], pos[r["b"]]] += 1.0 if r["t"] == "SIMILAR" else r["j"]
    d = g.sum(axis=1)
    a = g / np.sqrt(d)[:, None] / np.sqrt(d)[None, :]
    src, dst = (t.numpy() for t in data.ii_graph.edges())
    got = sp.csr_matrix((data.ii_graph.edata["w"].numpy(), (dst, src)), shape=(n, n)).toarray()
    np.testing.assert_allclose(got, a, atol=1e-6)
    assert data.item_feat.shape == (n, 384) and data.user_feat.shape == (data.n_users, 384)
    assert data.train.nnz + data.splits[1].nnz + data.splits[2].nnz == len(synthetic_movielens.ratings)


def test_training_run_is_recorded_and_served(store, first_run, synthetic_movielens):
    s, summary = first_run
    n_users = synthetic_movielens.ratings["user"].nunique()
    n_items = len(synthetic_movielens.items)
    assert summary.epochs == 3 and 1 <= summary.best_epoch <= 3 and summary.served
    for split in ("valid", "test"):
        assert set(summary.metrics[split]) >= {"recall@10", "recall@20", "ndcg@10", "ndcg@20",
                                               "precision@10", "precision@20"}
        assert summary.metrics[split]["users"] == n_users  # every user holds out >= 1 item
    # three epochs of MLLMRec are far better than a random ranking, whose expected
    # Recall@20 for a user is 20 / (items not in the user's training split)
    most = synthetic_movielens.ratings.groupby("user").size().max()
    assert summary.metrics["test"]["recall@20"] > 2 * 20 / (n_items - most)
    run = store.run_text("MATCH (r:TrainingRun {id: $id})-[:TRAINED_ON]->(d:Dataset) "
                         "RETURN properties(r) AS p, d.serving_run AS serving", id=summary.run_id)[0]
    p = run["p"]
    assert run["serving"] == summary.run_id and p["serving"] is True and p["status"] == "ok"
    assert p["dataset"] == s.dataset and p["model"] == "mllmrec" and p["device"] == "cpu"
    assert p["code_version"].split("+")[0] == code_version().split("+")[0]  # HEAD may move meanwhile
    assert json.loads(p["params"])["epochs"] == 3
    assert json.loads(p["metrics"]) == summary.metrics
    assert p["test_recall_20"] == summary.metrics["test"]["recall@20"]
    timings = json.loads(p["timings"])
    assert set(timings) == {"load", "fit", "epochs", "validation", "writeback", "total"}
    assert timings["epochs"] + timings["validation"] <= timings["fit"] <= timings["total"]
    assert p["best_epoch"] == summary.best_epoch and p["graph_build"] == summary.graph_build
    assert Path(p["checkpoint"]).is_file() and Path(p["plot"]).stat().st_size > 1000


def test_stored_vectors_reproduce_the_model_scores(store, first_run):
    s, summary = first_run
    data = load_data(store, s.dataset, s.train)
    model = build_model(data, s.train, torch.device("cpu"))
    warm_start(model, Path(summary.run_dir), data, "mllmrec")  # the best checkpoint, reloaded
    with torch.no_grad():
        u, i = (t.numpy().astype(np.float64) for t in model.all_repr())
    users, items = _stored(store, s.dataset, summary.run_id)
    assert len(users) == data.n_users and len(items) == data.n_items
    su = np.stack([users[x] for x in data.user_ids])
    si = np.stack([items[x] for x in data.item_ids])
    assert su.shape[1] == 64
    np.testing.assert_allclose(su @ si.T, u @ i.T, atol=1e-4, rtol=1e-5)


def test_recommendations_exclude_seen_items_and_follow_scores(store, first_run):
    s, summary = first_run
    users, items = _stored(store, s.dataset, summary.run_id)
    for user in ("1", "105"):
        seen = {r["i"] for r in store.run_text(
            "MATCH (:User {dataset: $d, id: $u})-[:INTERACTED]->(i) RETURN i.id AS i",
            d=s.dataset, u=user)}
        scores = {x: float(users[user] @ v) for x, v in items.items() if x not in seen}
        expected = sorted(scores, key=lambda x: (-scores[x], x))[:10]
        exact = recommend(store, s.dataset, user, 10, exact=True)
        assert [r.item_id for r in exact] == expected
        via_index = recommend(store, s.dataset, user, 10)
        assert len(via_index) == 10
        for r in exact + via_index:
            assert r.item_id not in seen
            assert r.score == pytest.approx(scores[r.item_id], abs=1e-6)
            assert r.via_item is None or r.via_item in seen
        assert len({r.item_id for r in via_index} & set(expected)) >= 8  # approximate index
        assert any(r.via_item for r in exact)


def test_cli_recommend_and_evaluate(store, neo4j_settings, first_run):
    s, summary = first_run
    res = run_cli(["-d", s.dataset, "recommend", "-u", "7", "-k", "3", "--json"], neo4j_settings)
    assert res.exit_code == 0, res.output
    assert len(json.loads(res.output)) == 3
    res = run_cli(["-d", s.dataset, "evaluate"], neo4j_settings)
    assert res.exit_code == 0, res.output
    line = next(x for x in res.output.splitlines() if x.startswith("recall@20"))
    valid, test = (float(v) for v in line.split()[1:])
    assert test == pytest.approx(summary.metrics["test"]["recall@20"], abs=1e-4)
    assert valid == pytest.approx(summary.metrics["valid"]["recall@20"], abs=1e-4)


def test_failed_or_incomplete_runs_never_replace_the_serving_run(store, first_run):
    s, summary = first_run
    before = _stored(store, s.dataset, summary.run_id)

    def interrupt(epoch_log):
        raise KeyboardInterrupt("simulated Ctrl-C during training")

    with pytest.raises(KeyboardInterrupt):
        train_model(store, s.with_overrides({"train.model": "bpr"}), on_epoch=interrupt, progress=False)
    failed = store.run_text("MATCH (r:TrainingRun {dataset: $d, status: 'failed'}) RETURN r.id AS id, "
                            "r.error AS error", d=s.dataset)
    assert len(failed) == 1 and "KeyboardInterrupt" in failed[0]["error"]

    # a run whose write-back stopped half way: half the items staged, then promotion refused
    data = load_train_data(store, s.dataset, features=False, item_graph=False)
    writeback.start_run(store, "partial-run", s.dataset, "bpr", {}, "cpu", None)
    half = data.n_items // 2
    rng = np.random.default_rng(0)
    writeback.stage_vectors(store, s.dataset, "partial-run", data.user_ids,
                            rng.normal(size=(data.n_users, 64)).astype(np.float32),
                            data.item_ids[:half], rng.normal(size=(half, 64)).astype(np.float32))
    with pytest.raises(StageError, match="not completely staged"):
        writeback.promote_run(store, s.dataset, "partial-run", data.n_users, data.n_items)

    assert _serving(store, s.dataset) == summary.run_id
    after = _stored(store, s.dataset, summary.run_id)
    for a, b in zip(before, after):
        assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)
    assert recommend(store, s.dataset, "1", 5, exact=True)


def test_staged_run_serves_only_when_promoted(store, first_run, synthetic_movielens):
    s, summary = first_run
    n_users = synthetic_movielens.ratings["user"].nunique()
    n_items = len(synthetic_movielens.items)
    bpr = train_model(store, s.with_overrides({"train.model": "bpr", "train.epochs": 1}),
                      serve=False, progress=False)
    assert _serving(store, s.dataset) == summary.run_id
    writeback.promote_run(store, s.dataset, bpr.run_id, n_users, n_items)
    assert _serving(store, s.dataset) == bpr.run_id
    users, items = _stored(store, s.dataset, bpr.run_id)
    assert len(users) == n_users and len(items) == n_items
    assert not _stored(store, s.dataset, summary.run_id)[0]  # only the serving run's vectors live on nodes
    flags = {r["id"]: r["serving"] for r in store.run_text(
        "MATCH (r:TrainingRun {dataset: $d}) RETURN r.id AS id, r.serving AS serving", d=s.dataset)}
    assert flags[bpr.run_id] is True and flags[summary.run_id] is False


def test_deterministic_cli_runs_repeat_exactly(store, neo4j_settings, trainable, tmp_path):  # noqa: F811
    """``train --deterministic`` twice from one seed, on two threads (so the deterministic
    kernels, not a single thread, make it repeat): the checkpoints are bitwise equal and the
    two (:TrainingRun) nodes record the same metrics."""
    args = ["-d", trainable.dataset, "train", "--epochs", "2", "--deterministic", "--threads", "2",
            "--no-serve", "--device", "cpu", "--runs-dir", str(tmp_path)]
    runs = []
    for _ in range(2):
        res = run_cli(args, neo4j_settings)
        assert res.exit_code == 0, res.output
        found = re.search(r"run (\S+) \(mllmrec, cpu\)", res.output)  # after progress bars
        assert found, res.output
        run_id = found.group(1)
        runs.append(store.run_text("MATCH (r:TrainingRun {id: $id}) RETURN properties(r) AS p",
                                   id=run_id)[0]["p"])
    a, b = runs
    assert json.loads(a["params"])["deterministic"] is True and a["status"] == b["status"] == "ok"
    assert json.loads(a["metrics"]) == json.loads(b["metrics"]) and a["best_epoch"] == b["best_epoch"]
    wa, wb = load_file(a["checkpoint"]), load_file(b["checkpoint"])
    assert wa.keys() == wb.keys() and all(torch.equal(wa[k], wb[k]) for k in wa)


def test_a_run_of_another_dimension_than_the_shared_indexes_is_still_served(store, first_run, caplog):
    """The learned-vector indexes span every dataset with one dimension (here 16-d, as if
    another dataset had trained with --dim 16 first): a 64-d run is still recommended, by the
    exact scan, equal to the exact answer, and training says why (kept last in this module:
    it restores the indexes the other modules expect)."""
    s, summary = first_run
    drop = "DROP INDEX item_rec_key IF EXISTS; DROP INDEX user_rec_vector IF EXISTS"
    try:
        for text in drop.split("; "):
            store.run_text(text)
        writeback.ensure_indexes(store, 16)
        with caplog.at_level("WARNING"):
            writeback.ensure_indexes(store, 64)
        assert "16-d" in caplog.text and "exact" in caplog.text
        for user in ("1", "105"):
            got = recommend(store, s.dataset, user, 10)
            want = recommend(store, s.dataset, user, 10, exact=True)
            assert [(r.item_id, r.score) for r in got] == [(r.item_id, r.score) for r in want]
    finally:
        for text in drop.split("; "):
            store.run_text(text)
        writeback.ensure_indexes(store, 64)
