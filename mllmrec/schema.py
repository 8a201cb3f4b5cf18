"""Creates the graph schema (constraints and indexes) idempotently."""
from __future__ import annotations

from mllmrec.cypher import statements
from mllmrec.db import Graph


def init_schema(graph: Graph) -> int:
    """Create every constraint and index in ``cypher/schema/init.cypher`` that is missing
    and wait until they are online. Returns the number of statements run."""
    stmts = statements("schema/init")
    for text in stmts:
        graph.run_text(text)
    graph.run("schema/await_indexes")
    return len(stmts)
