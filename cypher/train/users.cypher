// Every user of the dataset with its preference-text embedding (null when not embedded yet).
MATCH (u:User {dataset: $dataset})
RETURN u.id AS id, u.embedding AS embedding
ORDER BY id
