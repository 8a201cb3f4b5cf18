// Items whose text changed since it was last encoded by this encoder.
MATCH (i:Item {dataset: $dataset})
WHERE i.text IS NOT NULL AND trim(i.text) <> ''
  AND coalesce(i.embedding_hash, '') <> $encoder_key + ':' + coalesce(i.text_hash, '')
RETURN i.id AS id, i.text AS text, i.text_hash AS text_hash
ORDER BY id
