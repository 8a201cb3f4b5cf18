// The stored user vectors of one run (the serving one: staged vectors are not read here).
MATCH (u:User {dataset: $dataset})
WHERE u.rec_run = $run
RETURN u.id AS id, u.rec_vector AS vector
