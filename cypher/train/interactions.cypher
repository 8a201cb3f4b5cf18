// The interactions of the dataset in the splits $splits (0 train, 1 valid, 2 test), one row
// per user (fewer, larger records than one per edge). A tuning trial asks for [0, 1]: test
// interactions then never leave the server.
MATCH (u:User {dataset: $dataset})-[x:INTERACTED]->(i:Item)
WHERE x.split IN $splits
RETURN u.id AS user, collect(i.id) AS items, collect(x.split) AS splits
