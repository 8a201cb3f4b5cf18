"""Malformed input through `mllmrec ingest`: each case stops with an error naming the file,
line and field, and the database is exactly as it was (every node, relationship and
property of the existing dataset, and no new StageRun)."""
from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from tests.conftest import run_cli

pytestmark = pytest.mark.e2e

GOOD = "user,item,rating,timestamp\nu1,i1,5,100\nu1,i2,4,101\nu1,i3,3,102\nu2,i1,2,103\n"


def _snapshot(graph, dataset: str) -> dict:
    """Whole-database counts plus every interaction of the dataset with its properties."""
    counts = graph.run_text("MATCH (n) RETURN count(n) AS nodes, "
                            "COUNT { MATCH ()-[r]->() } AS rels")[0]
    inter = graph.run_text(
        "MATCH (u:User {dataset: $d})-[x:INTERACTED]->(i:Item) "
        "RETURN u.id AS u, i.id AS i, x.rating AS r, x.ts AS t, x.split AS s ORDER BY u, i", d=dataset)
    meta = graph.run_text("MATCH (d:Dataset {name: $d}) RETURN properties(d) AS p", d=dataset)
    return {"counts": counts, "interactions": inter, "dataset": meta}


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def _ml_folder(tmp_path: Path, data: str) -> Path:
    folder = tmp_path / "ml"
    _write(folder / "u.item", "1|Toy Story (1995)|01-Jan-1995||http://x|0|0|0|1|1|1|0|0|0|0|0|0|0|0|0|0|0|0|0\n"
                              "2|GoldenEye (1995)|01-Jan-1995||http://x|0|1|1|0|0|0|0|0|0|0|0|0|0|0|0|0|1|0|0\n")
    _write(folder / "u.data", data)
    return folder


def _case(name: str, tmp_path: Path) -> tuple[list[str], Path | None, int | None, str | None, str]:
    """CLI args after 'ingest', the file, line and field the error must name, and a phrase."""
    if name == "truncated line":
        p = _write(tmp_path / "t.csv", GOOD + "u3,i9,4\n")
        return ["csv", str(p)], p, 6, "timestamp", "truncated"
    if name == "truncated movielens line":
        folder = _ml_folder(tmp_path, "1\t1\t5\t881250949\n2\t2\t3\n")
        return ["movielens", str(folder)], folder / "u.data", 2, "ts", "truncated"
    if name == "non-numeric rating":
        p = _write(tmp_path / "ratings_Baby.csv", "A1,B000000001,5.0,1\nA2,B000000001,great,2\n")
        return ["amazon", str(p)], p, 2, "rating", "expected a number"
    if name == "missing column":
        p = _write(tmp_path / "m.csv", "user,rating\nu1,5\n")
        return ["csv", str(p)], p, 1, "item_id", "missing column"
    if name == "empty file":
        folder = tmp_path / "baby"
        p = _write(folder / "baby.inter", "")
        return ["mmrec", str(folder)], p, None, None, "empty"
    if name == "duplicate rows":
        p = _write(tmp_path / "d.csv", GOOD + "u2,i1,5,104\n")
        return ["csv", str(p)], p, 6, "item_id", "duplicate interaction"
    if name == "truncated gzip metadata":
        ratings = _write(tmp_path / "ratings_Baby.csv", "A1,B000000001,5.0,1\n")
        meta = tmp_path / "meta_Baby.json.gz"
        with gzip.open(meta, "wt") as f:
            f.write("{'asin': 'B000000001', 'title': 'x'}\n" * 2000)
        meta.write_bytes(meta.read_bytes()[:60])
        return ["amazon", str(ratings), "--meta", str(meta)], meta, None, None, "truncated"
    raise AssertionError(name)


CASES = ["truncated line", "truncated movielens line", "non-numeric rating", "missing column",
         "empty file", "duplicate rows", "truncated gzip metadata"]


@pytest.fixture
def existing(graph, neo4j_settings, dataset_name, tmp_path) -> str:
    """A small dataset already in the database, which the failed ingests target."""
    good = _write(tmp_path / "good.csv", GOOD)
    result = run_cli(["--dataset", dataset_name, "ingest", "csv", str(good)], neo4j_settings)
    assert result.exit_code == 0, result.output + repr(result.exception)
    return dataset_name


def test_malformed_inputs_fail_clearly_and_change_nothing(graph, neo4j_settings, existing, tmp_path):
    before = _snapshot(graph, existing)
    assert len(before["interactions"]) == 4
    for name in CASES:
        args, file, line, field, phrase = _case(name, tmp_path / name.replace(" ", "_"))
        result = run_cli(["--dataset", existing, "ingest", *args], neo4j_settings)
        err = result.exception
        assert result.exit_code == 1 and err is not None, f"{name}: {result.output}"
        message = str(err)
        assert message.startswith(str(file)), f"{name}: {message}"
        if line is not None:
            assert f"line {line}" in message, f"{name}: {message}"
        if field is not None:
            assert f"field '{field}'" in message, f"{name}: {message}"
        assert phrase in message, f"{name}: {message}"
        assert _snapshot(graph, existing) == before, f"{name} changed the database"


def test_unknown_format_names_the_known_ones(graph, neo4j_settings, existing, tmp_path):
    before = _snapshot(graph, existing)
    p = _write(tmp_path / "x.parquet", "PAR1")
    result = run_cli(["--dataset", existing, "ingest", "parquet", str(p)], neo4j_settings)
    assert result.exit_code == 2
    assert "unknown format 'parquet'" in result.output
    assert "movielens, amazon, mmrec, csv" in result.output
    assert _snapshot(graph, existing) == before
