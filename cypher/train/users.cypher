// Every user of the dataset, in id order, with its preference-text embedding when $embeddings
// is true (null when not embedded yet); baselines pass false and no vector leaves the server.
MATCH (u:User {dataset: $dataset})
RETURN u.id AS id, CASE WHEN $embeddings THEN u.embedding END AS embedding
ORDER BY id
