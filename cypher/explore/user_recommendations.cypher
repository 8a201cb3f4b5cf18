// A user's latest training items and top-k recommendations from the serving run (dot product of the learned vectors, items the user has seen are excluded), as a table.
// :param dataset => "ml-100k"
// :param user => "1"
// :param k => 10
MATCH (u:User {dataset: $dataset, id: $user})-[x:INTERACTED {split: 0}]->(i:Item)
RETURN 'history' AS kind, i.id AS item, i.title AS title, x.rating AS rating,
       toString(datetime({epochSeconds: x.ts})) AS time, null AS score
ORDER BY x.ts DESC, item LIMIT toInteger($k)
UNION ALL
MATCH (d:Dataset {name: $dataset})
MATCH (u:User {dataset: $dataset, id: $user})
MATCH (i:Item {dataset: $dataset})
WHERE i.id IS NOT NULL AND i.rec_run = d.serving_run AND NOT EXISTS { (u)-[:INTERACTED]->(i) }
// Rank by the MIPS key (Euclidean order to [h_u, 0] = dot-product order, computed natively),
// then score the leaders exactly.
WITH u, i ORDER BY vector.similarity.euclidean(u.rec_vector + [0.0], i.rec_key) DESC, i.id
LIMIT toInteger($k) + 20
WITH i, reduce(s = 0.0, j IN range(0, size(u.rec_vector) - 1) | s + u.rec_vector[j] * i.rec_vector[j]) AS score
RETURN 'recommendation' AS kind, i.id AS item, i.title AS title, null AS rating, null AS time, score
ORDER BY score DESC, item LIMIT toInteger($k)
