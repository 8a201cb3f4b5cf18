// A user to show recommendations for at the end of a pipeline run: the first user (by id)
// with both training and held-out interactions.
MATCH (u:User {dataset: $dataset})
WHERE EXISTS { (u)-[:INTERACTED {split: 0}]->() } AND EXISTS { (u)-[x:INTERACTED]->() WHERE x.split > 0 }
RETURN u.id AS id
ORDER BY size(u.id), u.id
LIMIT 1
