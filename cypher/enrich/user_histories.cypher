// Each user's items in the splits $splits, oldest first (ties and missing timestamps ordered
// by item id), with the provenance of the user's current preference text. The profile stage
// passes [0, 3] (training only, and a cold user's given interactions: validation and test never
// reach user features) unless the leaky history_scope 'all' was asked for explicitly, which
// passes [0, 1, 2, 3].
MATCH (u:User {dataset: $dataset})
OPTIONAL MATCH (u)-[x:INTERACTED]->(i:Item)
WHERE x.split IN $splits
WITH u, x, i ORDER BY u.id, x.ts, i.id
WITH u, collect(i.id) AS items
RETURN u.id AS id, items, u.history_hash AS history_hash,
       u.preference_model AS model, u.preference_prompt AS prompt,
       coalesce(u.preference_scope, 'train') AS scope
ORDER BY id
