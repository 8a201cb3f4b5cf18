// The edges of one build, e.g. for the trainer or for checks: one row per edge.
MATCH (i:Item {dataset: $dataset})-[r:CO_OCCURS|SIMILAR]->(j:Item)
WHERE r.build = $build
RETURN type(r) AS type, i.id AS source, j.id AS target, coalesce(r.jaccard, r.cosine) AS weight
