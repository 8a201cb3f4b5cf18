"""Guard on the schema decision in cypher/schema/init.cypher: every per-row lookup of a User
or Item by (dataset, id), in any query of the project, is planned as a unique index seek.
(With a single-property `dataset` index the planner seeked the whole dataset and filtered on
id instead: O(dataset) per row.) Plans are read with EXPLAIN, nothing runs."""
from __future__ import annotations

import re
from importlib import resources
from pathlib import Path

import pytest

from mllmrec.cypher import query
from mllmrec.schema import init_schema

pytestmark = pytest.mark.e2e

LOOKUP = re.compile(r"\((\w+):(User|Item) \{dataset: \$dataset, id: [a-z]+(?:\.[a-z_]+|\[k\])")


def _lookup_queries() -> list[tuple[str, list[tuple[str, str]]]]:
    root = Path(str(resources.files("cypher")))
    out = []
    for path in sorted(root.rglob("*.cypher")):
        found = sorted(set(LOOKUP.findall(path.read_text())))
        if found:
            out.append((path.relative_to(root).with_suffix("").as_posix(), found))
    return out


def _operators(plan) -> list[tuple[str, str]]:
    ops = [(plan["operatorType"], plan["args"].get("Details", ""))]
    for child in plan.get("children", []):
        ops += _operators(child)
    return ops


QUERIES = _lookup_queries()


@pytest.fixture(scope="module")
def schema(store):
    init_schema(store)


def test_the_ingest_queries_are_covered():
    names = {name for name, _ in QUERIES}
    assert {"ingest/create_interactions", "ingest/merge_interactions", "ingest/merge_users",
            "ingest/merge_items"} <= names


@pytest.mark.parametrize("name, lookups", QUERIES, ids=[n for n, _ in QUERIES])
def test_per_row_lookups_are_unique_seeks(store, schema, name, lookups):
    with store.session() as session:
        plan = session.run("EXPLAIN " + query(name)).consume().plan
    ops = _operators(plan)
    for var, label in lookups:
        seeks = [op for op, details in ops if op.startswith("NodeUniqueIndexSeek")
                 and f"{var}:{label}(dataset, id)" in details]
        assert seeks, f"{name}: ({var}:{label}) is not a unique (dataset, id) seek: {ops}"
    assert not [d for op, d in ops if op.startswith(("NodeIndexSeek", "NodeIndexScan"))
                and re.search(r":(User|Item)\(dataset\)", d)], f"{name}: {ops}"
