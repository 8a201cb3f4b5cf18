// Inputs of 'profile': each user's TRAINING interactions (item, timestamp) and the texts of
// those items (their hash where describe stored one), in a fixed order.
MATCH (u:User {dataset: $dataset})
OPTIONAL MATCH (u)-[x:INTERACTED {split: 0}]->(i:Item)
WITH u, x, i ORDER BY u.id, i.id
RETURN u.id AS id, collect([i.id, x.ts, coalesce(i.text_hash, i.text)]) AS history
