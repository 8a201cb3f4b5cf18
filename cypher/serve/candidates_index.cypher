// Top-k unseen items by dot product through the vector index: items are indexed by their MIPS
// key, so the nearest keys to [h_u, 0] are the largest dot products. $fetch nearest keys are
// read (the index spans all datasets and returns seen items too), then filtered and rescored.
MATCH (u:User {dataset: $dataset, id: $user})
CALL db.index.vector.queryNodes('item_rec_key', $fetch, u.rec_vector + [0.0]) YIELD node AS i
WITH u, i
WHERE i.dataset = $dataset AND i.rec_run = $run AND NOT EXISTS { (u)-[:INTERACTED]->(i) }
WITH u, i, reduce(s = 0.0, k IN range(0, size(u.rec_vector) - 1) | s + u.rec_vector[k] * i.rec_vector[k]) AS score
ORDER BY score DESC, i.id
LIMIT $k
RETURN i.id AS id, i.title AS title, score
