// Users of the dataset that the serving run can recommend for (they have its vector), in id
// order: the population the serving-latency benchmark samples from.
MATCH (d:Dataset {name: $dataset})
MATCH (u:User {dataset: $dataset})
WHERE u.rec_run = d.serving_run
RETURN u.id AS id
ORDER BY id
