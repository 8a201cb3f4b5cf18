"""`refresh` end to end on a small synthetic CSV catalogue: after a trained run, 20 new items and
5 new users (four with a few interactions, one with none in training and only an operator
text) are ingested, described (--no-llm), profiled, embedded and refreshed, then recommended.

Checked against independent references: the refreshed SIMILAR edges equal an exact kNN graph
of every item computed with numpy; the served vectors equal a numpy forward pass of the
checkpoint's safetensors weights over A built from the edges read back from Neo4j (1e-5).
Bad input (a held lock, text vectors of another dimension, no serving run) ends in one clear
error and changes nothing; a LightGCN serving run says in one line that it cannot. `retrain`
runs the same refresh step before it trains.

The tests of this module run in order on one dataset."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from safetensors.numpy import load_file

from mllmrec.errors import MllmrecError
from mllmrec.graph.incremental import BuildRule, reverse_candidates
from mllmrec.ops.explore import run_graph
from mllmrec.ops.lock import try_acquire
from mllmrec.serve import recommend_for
from tests.conftest import run_cli
from tests.e2e.train_fixtures import reference_item_graph

pytestmark = pytest.mark.e2e

GENRES = ["space adventure", "romantic comedy", "crime thriller", "cooking show",
          "nature documentary", "horror story"]
WORDS = ["red", "silent", "last", "golden", "broken", "hidden", "winter", "lost", "wild", "night"]
OPERATOR_TEXT = "Loves cooking shows and food programmes: recipes, chefs and kitchen competitions."


def _items(prefix: str, n: int, offset: int = 0) -> list[str]:
    """Item rows ``id,title,category``: titles from a few genres, all distinct."""
    rows = []
    for k in range(n):
        genre = GENRES[(k + offset) % len(GENRES)]
        rows.append(f"{prefix}{k},The {WORDS[(k // len(GENRES) + offset) % len(WORDS)]} "
                    f"{genre} {prefix}{k},{genre}")
    return rows


def _write_first(folder: Path) -> list[str]:
    """40 users x 10 interactions over 60 items, each user in two genres."""
    rows = ["user,item,rating,timestamp"]
    for u in range(40):
        liked = [g for g in range(60) if g % 6 in (u % 6, (u + 1) % 6)]
        for j in range(10):
            rows.append(f"u{u},i{liked[(u + 3 * j) % len(liked)]},{1 + (u + j) % 5},{1000 + u * 50 + j}")
    (folder / "inter.csv").write_text("\n".join(dict.fromkeys(rows)) + "\n")
    (folder / "items.csv").write_text("\n".join(["id,title,category", *_items("i", 60)]) + "\n")
    return ["csv", str(folder / "inter.csv"), "--items", str(folder / "items.csv")]


def _write_new(folder: Path) -> list[str]:
    """20 new items n0..n19 and 5 new users: nu0..nu3 each with 5 new items and one old item
    (4 train, 1 valid, 1 test), nu4 with one old item in the test split only (no history)."""
    rows = ["user,item,rating,timestamp,split"]
    for u in range(4):
        items = [f"n{5 * u + j}" for j in range(5)] + [f"i{u}"]
        splits = ["train"] * 4 + ["valid", "test"]
        rows += [f"nu{u},{it},4,{5000 + 10 * u + j},{s}" for j, (it, s) in enumerate(zip(items, splits))]
    rows.append("nu4,i7,5,6000,test")
    (folder / "new.csv").write_text("\n".join(rows) + "\n")
    # the whole catalogue: an ingest sets the metadata of every item its interactions name
    (folder / "new_items.csv").write_text(
        "\n".join(["id,title,category", *_items("i", 60), *_items("n", 20, 3)]) + "\n")
    return ["csv", str(folder / "new.csv"), "--items", str(folder / "new_items.csv")]


@dataclass
class Trained:
    name: str
    root: Path
    new_source: list[str]

    def cli(self, neo4j, *args: str):
        result = run_cli(["-d", self.name, *args], neo4j)
        return result


@pytest.fixture(scope="module")
def trained(store, neo4j_settings, tmp_path_factory, request) -> Trained:
    """The first catalogue through the pipeline (MLLMRec, 3 epochs), then the new data
    ingested, described, profiled (one operator text) and embedded: ready to refresh."""
    from mllmrec.dataset import drop_dataset

    root = tmp_path_factory.mktemp("refresh")
    name = f"refresh-{root.name[-6:]}"
    request.addfinalizer(lambda: drop_dataset(store, name))
    first = _write_first(root)
    out = run_cli(["-d", name, "pipeline", "run", "--source", *first, "--no-llm", "--epochs", "3",
                   "--set", f"train.runs_dir={root / 'runs'}", "--set", "train.batch_size=64",
                   "--set", "train.threads=1"], neo4j_settings)
    assert out.exit_code == 0, out.output + repr(out.exception)
    t = Trained(name, root, _write_new(root))
    for args in (["ingest", *t.new_source], ["describe-items", "--no-llm"],
                 ["profile-users", "--no-llm"],
                 ["profile-users", "--user", "nu4", "--text", OPERATOR_TEXT], ["embed"]):
        res = t.cli(neo4j_settings, *args)
        assert res.exit_code == 0, (args, res.output, repr(res.exception))
    return t


def _snapshot(store, name: str) -> dict:
    """What a refresh could change: edges, served vectors, refresh records."""
    return store.run_text(
        "MATCH (d:Dataset {name: $d}) RETURN "
        "COUNT { MATCH (:Item {dataset: $d})-[r:SIMILAR]->() } AS similar, "
        "COLLECT { MATCH (:Item {dataset: $d})-[r:SIMILAR]->(j) RETURN sum(r.cosine) }[0] AS cosines, "
        "COUNT { MATCH (n {dataset: $d}) WHERE n.rec_vector IS NOT NULL } AS served, "
        "COUNT { MATCH (n {dataset: $d}) WHERE n.rec_inductive } AS inductive, "
        "COUNT { MATCH (s:StageRun {dataset: $d, stage: 'refresh'}) } AS refreshes, "
        "d.serving_run AS run", d=name)[0]


def _fails_in_one_line(result, phrase: str) -> None:
    assert result.exit_code == 1, result.output
    exc = result.exception
    assert isinstance(exc, MllmrecError), repr(exc)
    assert "\n" not in str(exc) and phrase in str(exc), str(exc)


def test_new_entities_wait_for_refresh(store, neo4j_settings, trained):
    """Before refresh, new users cannot be served; the operator text is stored and encoded
    (the profile stage left it alone), and an unknown user is refused."""
    user = store.run_text("MATCH (u:User {dataset: $d, id: 'nu4'}) RETURN u.preference AS p, "
                          "u.preference_scope AS s, u.embedding IS NOT NULL AS e", d=trained.name)[0]
    assert user == {"p": OPERATOR_TEXT, "s": "operator", "e": True}
    again = trained.cli(neo4j_settings, "profile-users", "--no-llm")
    assert again.exit_code == 0, again.output
    assert store.run_text("MATCH (u:User {dataset: $d, id: 'nu4'}) RETURN u.preference AS p",
                          d=trained.name)[0]["p"] == OPERATOR_TEXT
    _fails_in_one_line(trained.cli(neo4j_settings, "profile-users", "--user", "nobody", "--text", "x"),
                       "no user 'nobody'")
    with pytest.raises(MllmrecError, match="no vector in serving run"):
        recommend_for(store, trained.name, "nu0", 5)


def test_refresh_under_another_writers_lock_changes_nothing(store, neo4j_settings, trained):
    before = _snapshot(store, trained.name)
    owner = "elsewhere:1:test"
    assert try_acquire(store, trained.name, owner, 300, "retrain")["acquired"]
    try:
        _fails_in_one_line(trained.cli(neo4j_settings, "refresh"), "holds the lock on dataset")
    finally:
        store.run("ops/lock_release", dataset=trained.name, owner=owner)
    assert _snapshot(store, trained.name) == before


def test_refresh_with_text_vectors_of_another_dimension_changes_nothing(store, neo4j_settings,
                                                                        trained):
    """A new item encoded by another encoder (8-d) cannot go through the run's 384-d towers."""
    d = trained.name
    kept = store.run_text("MATCH (i:Item {dataset: $d, id: 'n3'}) RETURN i.embedding AS e", d=d)[0]["e"]
    store.run_text("MATCH (i:Item {dataset: $d, id: 'n3'}) SET i.embedding = $e", d=d, e=[0.5] * 8)
    before = _snapshot(store, d)
    try:
        _fails_in_one_line(trained.cli(neo4j_settings, "refresh"), "trained on 384-d text vectors")
        assert _snapshot(store, d) == before
    finally:
        store.run_text("MATCH (i:Item {dataset: $d, id: 'n3'}) "
                       "CALL db.create.setNodeVectorProperty(i, 'embedding', $e)", d=d, e=kept)


def test_refresh_without_a_serving_run_changes_nothing(store, neo4j_settings, dataset_name,
                                                       trained):
    res = run_cli(["-d", dataset_name, "ingest", *trained.new_source], neo4j_settings)
    assert res.exit_code == 0, res.output
    before = _snapshot(store, dataset_name)
    _fails_in_one_line(run_cli(["-d", dataset_name, "refresh"], neo4j_settings),
                       "has no trained model yet")
    assert _snapshot(store, dataset_name) == before


def test_refresh_on_a_lightgcn_run_says_so_and_serves_nothing(store, neo4j_settings, dataset_name,
                                                              tmp_path):
    first = _write_first(tmp_path)
    steps = [["ingest", *first],
             ["train", "--model", "lightgcn", "--epochs", "1", "--runs-dir", str(tmp_path / "runs"),
              "--threads", "1"],
             ["ingest", *_write_new(tmp_path)], ["describe-items", "--no-llm"],
             ["profile-users", "--no-llm"], ["embed"]]
    for args in steps:
        res = run_cli(["-d", dataset_name, *args], neo4j_settings)
        assert res.exit_code == 0, (args, res.output, repr(res.exception))
    before = _snapshot(store, dataset_name)
    res = run_cli(["-d", dataset_name, "refresh"], neo4j_settings)
    assert res.exit_code == 0, res.output
    lines = res.output.strip().splitlines()
    assert len(lines) == 1 and "LightGCN" in lines[0] and "20 new items" in lines[0] \
        and "stay unserved" in lines[0], res.output
    assert _snapshot(store, dataset_name) == before


# ---------------------------------------------------------------------------- the refresh


def _leaky_relu(x: np.ndarray) -> np.ndarray:
    return np.where(x > 0, x, 0.01 * x)


def _mlp(w: dict[str, np.ndarray], prefix: str, x: np.ndarray) -> np.ndarray:
    h = _leaky_relu(x @ w[f"{prefix}.0.weight"].T.astype(np.float64) + w[f"{prefix}.0.bias"])
    return h @ w[f"{prefix}.2.weight"].T.astype(np.float64) + w[f"{prefix}.2.bias"]


def test_refresh_serves_new_items_and_users_as_the_numpy_reference(store, neo4j_settings, trained):
    d = trained.name
    res = trained.cli(neo4j_settings, "refresh")
    assert res.exit_code == 0, res.output + repr(res.exception)
    assert "20 new items and 5 new users served from text" in res.output, res.output
    run = store.run("train/serving_run", dataset=d)[0]
    folder = Path(run["checkpoint"]).parent

    # SIMILAR edges == an exact kNN graph of all 80 items (numpy), the build's knn_k / pure
    build = store.run("graph/active_build", dataset=d)[0]
    items = store.run_text("MATCH (i:Item {dataset: $d}) RETURN i.id AS id, i.embedding AS e "
                           "ORDER BY id", d=d)
    ids = [r["id"] for r in items]
    pos = {x: k for k, x in enumerate(ids)}
    assert {len(r["e"] or []) for r in items} == {384}, [(r["id"], len(r["e"] or [])) for r in items
                                                        if len(r["e"] or []) != 384]
    emb = np.array([r["e"] for r in items], dtype=np.float64)
    similar, _ = reference_item_graph(emb, sp.csr_matrix((1, len(ids))), build["knn_k"], 0,
                                      build["pure"])
    want = {(ids[r["a"]], ids[r["b"]]): r["cosine"] for r in similar}
    edges = store.run_text("MATCH (a:Item {dataset: $d})-[r]->(b) WHERE r.build = $b "
                           "RETURN type(r) AS t, a.id AS a, b.id AS b, r.cosine AS c, r.jaccard AS j",
                           d=d, b=build["id"])
    got = {(e["a"], e["b"]): e["c"] for e in edges if e["t"] == "SIMILAR"}
    assert set(got) == set(want)
    assert max(abs(got[k] - want[k]) for k in want) < 1e-6
    assert any(a.startswith("i") and b.startswith("n") for a, b in got), "no existing item gained a new one"

    # numpy forward pass of the checkpoint over A from the stored edges
    w = {k: v.astype(np.float64) for k, v in load_file(str(folder / "model.safetensors")).items()}
    settings = json.loads((folder / "run.json").read_text())["settings"]
    g = np.zeros((len(ids), len(ids)))
    for e in edges:
        g[pos[e["a"]], pos[e["b"]]] += 1.0 if e["t"] == "SIMILAR" else e["j"]
    deg = g.sum(axis=1)
    inv = np.where(deg > 0, 1 / np.sqrt(np.where(deg > 0, deg, 1)), 0.0)
    a = inv[:, None] * g * inv[None, :]
    e_prop, power = emb.copy(), emb.copy()
    for _ in range(settings["n_ii_layers"]):
        power = a @ power
        e_prop += power
    stored = {r["id"]: r for r in store.run_text(
        "MATCH (n {dataset: $d}) WHERE n.rec_inductive "
        "RETURN n.id AS id, n.rec_vector AS v, n.rec_key AS k, n.rec_run AS run, "
        "n:User AS user, n.embedding AS e", d=d)}
    new_items, new_users = [f"n{k}" for k in range(20)], [f"nu{k}" for k in range(5)]
    assert set(stored) == set(new_items) | set(new_users)
    assert {r["run"] for r in stored.values()} == {run["run"]}
    ref_items = _mlp(w, "item_mlp", e_prop[[pos[x] for x in new_items]])
    np.testing.assert_allclose(np.array([stored[x]["v"] for x in new_items]), ref_items, atol=1e-5)
    ref_users = _mlp(w, "user_mlp", np.array([stored[x]["e"] for x in new_users]))
    np.testing.assert_allclose(np.array([stored[x]["v"] for x in new_users]), ref_users, atol=1e-5)
    # MIPS keys share the run's norm M
    m_sq = store.run_text("MATCH (i:Item {dataset: $d}) WHERE i.rec_run = $r AND i.rec_inductive IS NULL "
                          "RETURN i.rec_key AS k LIMIT 1", d=d, r=run["run"])[0]["k"]
    m_sq = float(np.square(m_sq).sum())
    for x in new_items:
        v = np.array(stored[x]["v"])
        assert stored[x]["k"][:-1] == pytest.approx(stored[x]["v"])
        assert stored[x]["k"][-1] == pytest.approx(np.sqrt(max(m_sq - v @ v, 0.0)), abs=1e-5)

    # touched items counted on the StageRun: existing items whose row now holds a new item
    touched = {a for a, b in got if a.startswith("i") and b.startswith("n")}
    counts = json.loads(store.run_text(
        "MATCH (s:StageRun {dataset: $d, stage: 'refresh', status: 'ok'}) RETURN s.counts AS c",
        d=d)[0]["c"])
    assert counts["touched_items"] == len(touched) and counts["items"] == 20 and counts["users"] == 5
    assert f"{len(touched)} existing items gained a new neighbour" in res.output


def test_approximate_reverse_search_finds_the_exact_candidates(store, trained):
    """The index path of the all -> new search (approximate builds) against the brute-force
    one on the same items: the same (item, new item) pairs and cosines to float32 precision."""
    d = trained.name
    build = store.run("graph/active_build", dataset=d)[0]
    new = [f"n{k}" for k in range(20)]
    indexed = store.run("graph/embedded_items", dataset=d)[0]["indexed"]
    found = {}
    for approximate in (False, True):
        rule = BuildRule(build["id"], build["knn_k"], build["pure"], approximate, 30)
        got = reverse_candidates(store, d, rule, [new], new, indexed if approximate else 0)
        found[approximate] = {(x, n): c for x, pairs in got.items() for n, c in pairs}
    exact, approx = found[False], found[True]
    assert exact and len(exact.keys() & approx.keys()) >= 0.95 * len(exact)
    assert max(abs(exact[k] - approx[k]) for k in exact.keys() & approx.keys()) < 1e-5


def test_new_items_and_users_are_recommended_and_marked(store, neo4j_settings, trained):
    d = trained.name
    old_users = [f"u{k}" for k in range(40)]
    shown = {r.item_id for u in old_users for r in recommend_for(store, d, u, 10).items
             if r.inductive}
    assert shown and all(x.startswith("n") for x in shown), shown
    for u in (f"nu{k}" for k in range(5)):
        served = recommend_for(store, d, u, 10)
        assert served.user_inductive and len(served.items) == 10
    seen = {r["i"] for r in store.run_text("MATCH (:User {dataset: $d, id: 'nu0'})-[:INTERACTED]->(i) "
                                           "RETURN i.id AS i", d=d)}
    assert not seen & {r.item_id for r in recommend_for(store, d, "nu0", 10).items}
    out = trained.cli(neo4j_settings, "recommend", "--user", "nu4", "-k", "5")
    assert out.exit_code == 0 and "user nu4 (new: from text)" in out.output, out.output
    status = trained.cli(neo4j_settings, "status")
    assert "20 new items, 5 new users" in status.output.replace("\n", " "), status.output
    view = run_graph(store, "new_item", d, {"item": "n0"})
    assert {n.get("id") for n in view.nodes} - {"n0"}, "no neighbour explains n0"


def test_refresh_again_does_nothing(store, neo4j_settings, trained):
    before = _snapshot(store, trained.name)
    res = trained.cli(neo4j_settings, "refresh")
    assert res.exit_code == 0 and "0 new items and 0 new users" in res.output, res.output
    assert _snapshot(store, trained.name) == before


def test_retrain_refreshes_first_then_trains_and_clears_the_marks(store, neo4j_settings, trained):
    """New data, then retrain: its refresh stage serves the new item from the old run before
    train; the promoted run then serves everything as trained."""
    d = trained.name
    (trained.root / "more.csv").write_text("user,item,rating,timestamp\nnu0,m0,5,9000\nu1,m0,4,9001\n")
    (trained.root / "more_items.csv").write_text("id,title,category\nm0,The brave cooking show m0,cooking show\n")
    res = trained.cli(neo4j_settings, "ingest", "csv", str(trained.root / "more.csv"), "--items",
                      str(trained.root / "more_items.csv"))
    assert res.exit_code == 0, res.output
    old_run = _snapshot(store, d)["run"]
    res = trained.cli(neo4j_settings, "retrain", "--no-llm", "--epochs", "1",
                      "--set", f"train.runs_dir={trained.root / 'runs'}", "--set", "train.batch_size=64",
                      "--set", "train.threads=1")
    assert res.exit_code == 0, res.output + repr(res.exception)
    refresh = store.run_text(
        "MATCH (s:StageRun {dataset: $d, stage: 'refresh', status: 'ok'}) "
        "RETURN s.params AS p, s.counts AS c ORDER BY s.started_at DESC LIMIT 1", d=d)[0]
    assert json.loads(refresh["p"])["run"] == old_run and json.loads(refresh["c"])["items"] == 1
    after = _snapshot(store, d)
    assert after["run"] != old_run and after["inductive"] == 0
