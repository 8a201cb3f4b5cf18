// First ingest of a dataset (no INTERACTED yet, and validate() guarantees one row per
// (user, item)): CREATE skips MERGE's existence check, about a third less server work.
// Any later run, including the re-run of an interrupted ingest, uses merge_interactions.
UNWIND $rows AS row
MATCH (u:User {dataset: $dataset, id: row.u}) USING INDEX u:User(dataset, id)
UNWIND range(0, size(row.i) - 1) AS k
MATCH (i:Item {dataset: $dataset, id: row.i[k]}) USING INDEX i:Item(dataset, id)
CREATE (u)-[:INTERACTED {rating: row.r[k], ts: row.t[k], split: row.s[k]}]->(i)
