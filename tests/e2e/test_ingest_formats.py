"""Each non-MovieLens format through `mllmrec ingest` into the real server: the graph holds
exactly the users, items, properties and split labels of the tiny source files."""
from __future__ import annotations

import gzip

import pytest

from mllmrec.dataset import dataset_stats
from tests.conftest import run_cli
from tests.unit.test_loaders_amazon import META_2014, RATINGS_2014

pytestmark = pytest.mark.e2e


def _ingest(neo4j_settings, dataset: str, *args: str) -> None:
    result = run_cli(["--dataset", dataset, "ingest", *args], neo4j_settings)
    assert result.exit_code == 0, result.output + repr(result.exception)


def _interactions(store, dataset: str) -> list[tuple]:
    rows = store.run_text(
        "MATCH (u:User {dataset: $d})-[x:INTERACTED]->(i:Item {dataset: $d}) "
        "RETURN u.id AS u, i.id AS i, x.rating AS r, x.ts AS t, x.split AS s ORDER BY u, i", d=dataset)
    return [(r["u"], r["i"], r["r"], r["t"], r["s"]) for r in rows]


def test_amazon_2014(store, neo4j_settings, dataset_name, tmp_path):
    ratings = tmp_path / "ratings_Baby.csv"
    ratings.write_text(RATINGS_2014)
    meta = tmp_path / "meta_Baby.json.gz"
    with gzip.open(meta, "wt") as f:
        f.write("\n".join(META_2014) + "\n")
    _ingest(neo4j_settings, dataset_name, "amazon", str(ratings), "--meta", str(meta))
    st = dataset_stats(store, dataset_name)
    assert (st.users, st.items, st.interactions, st.domain) == (3, 3, 4, "Baby")
    got = _interactions(store, dataset_name)
    assert [(u, i, r, t) for u, i, r, t, _ in got] == [
        ("A14VAT5EAX3D9S", "0000031852", 4.0, 1386806400),
        ("A2SUAM1J3GNN3B", "0000031852", 5.0, 1355616000),
        ("A2SUAM1J3GNN3B", "B00004TFLB", 3.0, 1361145600),
        ("A3BDW5VZV1Y4RP", "B0000223SI", 1.0, 1192233600),
    ]
    # users with fewer than 3 interactions keep everything in training
    assert {s for *_, s in got} == {0}
    item = store.run_text("MATCH (i:Item {dataset: $d, id: '0000031852'}) RETURN properties(i) AS p",
                          d=dataset_name)[0]["p"]
    assert item["category"] == "Baby > Baby Care > Bathing"
    assert item["image"].startswith("http://ecx.images-amazon.com/")
    bare = store.run_text("MATCH (i:Item {dataset: $d, id: 'B0000223SI'}) RETURN properties(i) AS p",
                          d=dataset_name)[0]["p"]
    assert set(bare) == {"dataset", "id"}  # no metadata line: no empty text properties


def test_mmrec_split_labels_are_kept(store, neo4j_settings, dataset_name, tmp_path):
    folder = tmp_path / "baby"
    folder.mkdir()
    (folder / "baby.inter").write_text(
        "userID\titemID\trating\ttimestamp\tx_label\n"
        "0\t0\t5.0\t1358985600\t0\n0\t1\t4.0\t1364860800\t1\n0\t2\t5.0\t1367712000\t2\n"
        "1\t0\t3.0\t1381276800\t2\n")
    _ingest(neo4j_settings, dataset_name, "mmrec", str(folder))
    assert [(u, i, s) for u, i, _, _, s in _interactions(store, dataset_name)] == [
        ("0", "0", 0), ("0", "1", 1), ("0", "2", 2), ("1", "0", 2)]


def test_csv_with_items_then_reingest(store, neo4j_settings, dataset_name, tmp_path):
    inter = tmp_path / "ratings.csv"
    lines = ["userId,movieId,rating,timestamp"]
    lines += [f"u{u},m{i},{(u + i) % 5 + 1},{1_000_000 + 10 * u + i}" for u in range(4) for i in range(12)]
    inter.write_text("\n".join(lines) + "\n")
    items = tmp_path / "movies.csv"
    items.write_text("movieId,title,genres\n" + "".join(f"m{i},Movie {i},Drama\n" for i in range(12)))
    _ingest(neo4j_settings, dataset_name, "csv", str(inter), "--items", str(items), "--domain", "movies")
    first = _interactions(store, dataset_name)
    assert len(first) == 48
    assert [sum(1 for *_, s in first if s == k) for k in range(3)] == [40, 4, 4]  # 12 -> 10/1/1 per user
    assert store.run_text("MATCH (i:Item {dataset: $d, id: 'm3'}) RETURN i.title AS t, i.category AS c",
                          d=dataset_name)[0] == {"t": "Movie 3", "c": "Drama"}
    _ingest(neo4j_settings, dataset_name, "csv", str(inter), "--items", str(items), "--domain", "movies")
    assert _interactions(store, dataset_name) == first


def test_new_interactions_without_an_items_file_keep_the_stored_item_text(
        store, neo4j_settings, dataset_name, tmp_path):
    """An incremental ingest that names items only in its interactions (no items file, or no
    row in it) must not erase their stored text; a row of the items file still rewrites it,
    a field it leaves empty included."""
    inter = tmp_path / "ratings.csv"
    inter.write_text("user,item\n" + "".join(f"u{u},m{i}\n" for u in range(3) for i in range(6)))
    items = tmp_path / "items.csv"
    items.write_text("id,title,brand\n" + "".join(f"m{i},Movie {i},Studio {i}\n" for i in range(6)))
    _ingest(neo4j_settings, dataset_name, "csv", str(inter), "--items", str(items))
    more = tmp_path / "more.csv"
    more.write_text("user,item\nu3,m1\nu3,m2\nu3,m4\nu3,m6\n")
    _ingest(neo4j_settings, dataset_name, "csv", str(more))  # no items file: m6 is new, bare
    fixed = tmp_path / "fixed.csv"
    fixed.write_text("id,title,brand\nm2,Movie Two,\n")  # m2 rewritten, brand cleared
    _ingest(neo4j_settings, dataset_name, "csv", str(more), "--items", str(fixed))
    rows = store.run_text("MATCH (i:Item {dataset: $d}) RETURN i.id AS id, i.title AS t, "
                          "i.brand AS b ORDER BY id", d=dataset_name)
    want = {f"m{i}": (f"Movie {i}", f"Studio {i}") for i in range(6)}
    want |= {"m2": ("Movie Two", None), "m6": (None, None)}
    assert {r["id"]: (r["t"], r["b"]) for r in rows} == want
