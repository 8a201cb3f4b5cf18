// A user's latest training items and top-k recommendations from the serving run (dot product of the learned vectors; items the user has seen are excluded).
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
WHERE i.rec_run = d.serving_run AND NOT EXISTS { (u)-[:INTERACTED]->(i) }
WITH i, reduce(s = 0.0, j IN range(0, size(u.rec_vector) - 1) | s + u.rec_vector[j] * i.rec_vector[j]) AS score
RETURN 'recommendation' AS kind, i.id AS item, i.title AS title, null AS rating, null AS time, score
ORDER BY score DESC, item LIMIT toInteger($k)
