"""The bad-input corpus (tests/e2e/bad_inputs.py) through the real CLI: each case stops with
an error of the expected type naming the file, line and field, and the database is exactly
as it was (node and relationship counts, and a hash of every node and relationship of the
dataset the failed commands target, with all their properties)."""
from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import run_cli
from tests.e2e.bad_inputs import CASES, GOOD, write

pytestmark = pytest.mark.e2e


def snapshot(store, dataset: str) -> dict:
    """Whole-database counts plus a content hash of the dataset's nodes and relationships."""
    counts = store.run_text("MATCH (n) RETURN count(n) AS nodes, "
                            "COUNT { MATCH ()-[r]->() } AS rels")[0]
    nodes = store.run_text(
        "MATCH (n) WHERE n.dataset = $d OR n.name = $d "
        "RETURN labels(n) AS l, properties(n) AS p", d=dataset)
    rels = store.run_text(
        "MATCH (a {dataset: $d})-[r]->(b) "
        "RETURN a.id AS a, type(r) AS t, b.id AS b, properties(r) AS p", d=dataset)
    h = hashlib.sha256()
    for row in sorted(json.dumps(r, sort_keys=True, default=str) for r in nodes + rels):
        h.update(row.encode())
    return {"counts": counts, "nodes": len(nodes), "rels": len(rels), "hash": h.hexdigest()}


@pytest.fixture(scope="module")
def existing(store, neo4j_settings, tmp_path_factory) -> Iterator[str]:
    """A small dataset already in the database, which the failed commands target."""
    from mllmrec.dataset import drop_dataset

    name = f"bad-{uuid.uuid4().hex[:8]}"
    good = write(tmp_path_factory.mktemp("good") / "good.csv", GOOD)
    result = run_cli(["--dataset", name, "ingest", "csv", str(good)], neo4j_settings)
    assert result.exit_code == 0, result.output + repr(result.exception)
    yield name
    drop_dataset(store, name)


def test_corpus_is_large_enough():
    assert len(CASES) >= 40


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_input_fails_clearly_and_changes_nothing(name, store, neo4j_settings, existing,
                                                      tmp_path: Path):
    before = snapshot(store, existing)
    assert before["rels"] >= 4
    args, expect = CASES[name](tmp_path)
    if args[0] != "--dataset":
        args = ["--dataset", existing, *args]
    result = run_cli(args, neo4j_settings)
    if expect.error is None:  # a click usage error: exit 2, message in the output
        assert result.exit_code == 2, result.output
        assert expect.phrase in result.output, result.output
    else:
        err = result.exception
        assert result.exit_code == 1 and err is not None, result.output
        assert type(err).__name__ == expect.error, repr(err)
        message = str(err)
        assert "\n" not in message.strip(), message
        if expect.file is not None:
            assert message.startswith(str(expect.file)), message
        if expect.line is not None:
            assert f"line {expect.line}," in message or f"line {expect.line}:" in message, message
        if expect.field is not None:
            assert f"field '{expect.field}'" in message, message
        assert expect.phrase.lower() in message.lower(), message
    assert snapshot(store, existing) == before, f"{name} changed the database"
