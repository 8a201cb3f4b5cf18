"""Named Cypher queries.

Every query the project runs is a ``.cypher`` file under the top-level ``cypher/`` folder and
is loaded by its path without the suffix, e.g. ``query("ingest/merge_items")``. Queries take
parameters (``$rows``, ``$dataset``); values are never pasted into query text.
"""
from __future__ import annotations

from functools import cache
from importlib import resources

from mllmrec.errors import MllmrecError


@cache
def query(name: str) -> str:
    """Return the text of ``cypher/<name>.cypher``; raise if there is no such query."""
    node = resources.files("cypher")
    for part in f"{name}.cypher".split("/"):
        node = node / part
    if not node.is_file():
        raise MllmrecError(f"no Cypher query named '{name}' (looked for cypher/{name}.cypher)")
    return node.read_text(encoding="utf-8")


def statements(name: str) -> list[str]:
    """Split a multi-statement file (schema scripts) on ';' at line ends."""
    text = query(name)
    parts = [p.strip() for p in text.split(";\n")]
    return [p.rstrip(";").strip() for p in parts if p.strip() and not _only_comments(p)]


def _only_comments(text: str) -> bool:
    return all(not line.strip() or line.strip().startswith("//") for line in text.splitlines())
