// Users whose preference text changed since it was last encoded by this encoder.
MATCH (u:User {dataset: $dataset})
WHERE u.preference IS NOT NULL AND trim(u.preference) <> ''
  AND coalesce(u.embedding_hash, '') <> $encoder_key + ':' + coalesce(u.preference_hash, '')
RETURN u.id AS id, u.preference AS text, u.preference_hash AS text_hash
ORDER BY id
