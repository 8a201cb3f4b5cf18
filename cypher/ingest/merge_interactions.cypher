// One row per user (or per slice of a long history): the user is looked up once, then its
// items are parallel lists (i, r = rating, t = ts, s = split). MERGE keeps one relationship
// per (user, item), so re-running an ingest updates instead of duplicating.
// USING INDEX pins the unique (dataset, id) seeks whatever other indexes exist (a
// single-property `dataset` index once made the planner scan the dataset per row).
UNWIND $rows AS row
MATCH (u:User {dataset: $dataset, id: row.u}) USING INDEX u:User(dataset, id)
UNWIND range(0, size(row.i) - 1) AS k
MATCH (i:Item {dataset: $dataset, id: row.i[k]}) USING INDEX i:Item(dataset, id)
MERGE (u)-[x:INTERACTED]->(i)
SET x.rating = row.r[k], x.ts = row.t[k], x.split = row.s[k]
