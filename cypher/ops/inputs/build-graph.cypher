// Inputs of 'build-graph': each item's embedding (by its hash) and its TRAINING audience.
MATCH (i:Item {dataset: $dataset})
OPTIONAL MATCH (u:User)-[:INTERACTED {split: 0}]->(i)
WITH i, u ORDER BY i.id, u.id
RETURN i.id AS id, i.embedding_hash AS embedding, collect(u.id) AS users
