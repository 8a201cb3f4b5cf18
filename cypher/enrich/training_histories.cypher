// Each user's TRAINING items (split 0 only: validation and test never reach user features),
// oldest first (ties and missing timestamps ordered by item id), with the provenance of the
// user's current preference text.
MATCH (u:User {dataset: $dataset})
OPTIONAL MATCH (u)-[x:INTERACTED]->(i:Item)
WHERE x.split = 0
WITH u, x, i ORDER BY u.id, x.ts, i.id
WITH u, collect(i.id) AS items
RETURN u.id AS id, items, u.history_hash AS history_hash,
       u.preference_model AS model, u.preference_prompt AS prompt
ORDER BY id
