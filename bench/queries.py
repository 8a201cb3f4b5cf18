"""The benchmark's own Cypher queries, loaded by name from ``bench/cypher/``.

They measure or sample the product's data (a served user, a run's timings) and are no part of
the product, so they live beside the benchmarks rather than in the shipped ``cypher/``
package. Like every query of the project they take parameters, never pasted values.
"""
from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from mllmrec.db import Store
from mllmrec.errors import MllmrecError

FOLDER = Path(__file__).resolve().parent / "cypher"


@cache
def query(name: str) -> str:
    """The text of ``bench/cypher/<name>.cypher``; raise if there is no such query."""
    path = FOLDER / f"{name}.cypher"
    if not path.is_file():
        raise MllmrecError(f"no benchmark query named '{name}' (looked for {path})")
    return path.read_text(encoding="utf-8")


def run(store: Store, name: str, **params: Any) -> list[dict[str, Any]]:
    """Run the benchmark query ``name`` with ``params``; records as dicts."""
    return store.run_text(query(name), **params)
