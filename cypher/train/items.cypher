// Every item of the dataset, in id order, with its 384-d text embedding when $embeddings is
// true (null when not embedded yet); baselines pass false and no vector leaves the server.
// cold: held out by the cold-start protocol (no training interaction by construction).
MATCH (i:Item {dataset: $dataset})
RETURN i.id AS id, CASE WHEN $embeddings THEN i.embedding END AS embedding,
       coalesce(i.cold, false) AS cold
ORDER BY id
