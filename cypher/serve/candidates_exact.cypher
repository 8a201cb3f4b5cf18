// Top-k unseen items by exact dot product over every item of the dataset (no index).
MATCH (u:User {dataset: $dataset, id: $user})
MATCH (i:Item {dataset: $dataset})
WHERE i.rec_run = $run AND NOT EXISTS { (u)-[:INTERACTED]->(i) }
WITH u, i, reduce(s = 0.0, k IN range(0, size(u.rec_vector) - 1) | s + u.rec_vector[k] * i.rec_vector[k]) AS score
ORDER BY score DESC, i.id
LIMIT $k
RETURN i.id AS id, i.title AS title, score
