// The stored item vectors of one run (the serving one: staged vectors are not read here).
MATCH (i:Item {dataset: $dataset})
WHERE i.rec_run = $run
RETURN i.id AS id, i.rec_vector AS vector
