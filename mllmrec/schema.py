"""Creates the graph schema (constraints and indexes) idempotently.

The cosine vector indexes over item and user text vectors are created later, by whichever
stage first needs them (embed, or an approximate graph build), since their dimension is the
encoder's.
"""
from __future__ import annotations

from mllmrec.cypher import statements
from mllmrec.db import Store
from mllmrec.errors import StageError

#: The vector indexes by node kind; shared by every dataset in the database.
VECTOR_INDEXES = {"item": "item_embedding", "user": "user_embedding"}


def init_schema(store: Store) -> int:
    """Create every constraint and index in ``cypher/schema/init.cypher`` that is missing
    and wait until they are online. Returns the number of statements run."""
    stmts = statements("schema/init")
    for text in stmts:
        store.run_text(text)
    store.run("schema/await_indexes")
    return len(stmts)


def ensure_vector_indexes(store: Store, dimensions: int) -> None:
    """Create the cosine vector indexes that are missing and wait until both are online;
    refuse a dimension that does not match existing ones (they are shared by every dataset in
    the database). Indexes already online cost one read: the DDL and the wait are skipped."""
    existing = {row["name"]: row for row in store.run("schema/vector_indexes")}
    for row in existing.values():
        if row["dimensions"] is not None and int(row["dimensions"]) != dimensions:
            raise StageError(
                f"vector index '{row['name']}' has dimension {row['dimensions']} but the encoder "
                f"gives {dimensions}: drop the index (DROP INDEX {row['name']}) or use the same encoder")
    for kind, name in VECTOR_INDEXES.items():
        if name not in existing:
            store.run(f"schema/create_{kind}_index", dimensions=dimensions)
    if set(existing) != set(VECTOR_INDEXES.values()) or any(r["state"] != "ONLINE" for r in existing.values()):
        store.run("schema/await_indexes")
