// Every user of the dataset, in id order, with its preference-text embedding when $embeddings
// is true (null when not embedded yet); baselines pass false and no vector leaves the server.
// cold: held out by the cold-start protocol (text from given interactions only).
MATCH (u:User {dataset: $dataset})
RETURN u.id AS id, CASE WHEN $embeddings THEN u.embedding END AS embedding,
       coalesce(u.cold, false) AS cold
ORDER BY id
