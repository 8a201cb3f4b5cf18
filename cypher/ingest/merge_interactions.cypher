// One row per (user, item): re-running the same ingest updates, never duplicates.
UNWIND $rows AS row
MATCH (u:User {dataset: $dataset, id: row.u})
MATCH (i:Item {dataset: $dataset, id: row.i})
MERGE (u)-[x:INTERACTED]->(i)
SET x.rating = row.rating, x.ts = row.ts, x.split = row.split
