// Every item of the dataset, in id order, with its 384-d text embedding when $embeddings is
// true (null when not embedded yet); baselines pass false and no vector leaves the server.
MATCH (i:Item {dataset: $dataset})
RETURN i.id AS id, CASE WHEN $embeddings THEN i.embedding END AS embedding
ORDER BY id
