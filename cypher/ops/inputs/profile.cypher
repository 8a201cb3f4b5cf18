// Inputs of 'profile': each user's TRAINING interactions (item, timestamp; split 3: a cold
// user's given ones) and the texts of those items (their hash where describe stored one), in
// a fixed order.
MATCH (u:User {dataset: $dataset})
OPTIONAL MATCH (u)-[x:INTERACTED]->(i:Item) WHERE x.split IN [0, 3]
WITH u, x, i ORDER BY u.id, i.id
RETURN u.id AS id, collect([i.id, x.ts, coalesce(i.text_hash, i.text)]) AS history
