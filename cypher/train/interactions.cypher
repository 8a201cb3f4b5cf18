// All interactions of the dataset, one row per user (fewer, larger records than one per edge).
MATCH (u:User {dataset: $dataset})-[x:INTERACTED]->(i:Item)
RETURN u.id AS user, collect(i.id) AS items, collect(x.split) AS splits
