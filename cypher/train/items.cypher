// Every item of the dataset with its 384-d text embedding (null when not embedded yet).
MATCH (i:Item {dataset: $dataset})
RETURN i.id AS id, i.embedding AS embedding
ORDER BY id
