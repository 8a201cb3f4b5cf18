// Fused item texts. An item left with no text (null) also loses its text vector.
UNWIND $rows AS row
MATCH (i:Item {dataset: $dataset, id: row.id})
SET i.text = row.text, i.text_hash = row.text_hash
FOREACH (_ IN CASE WHEN row.text IS NULL THEN [1] ELSE [] END |
  REMOVE i.embedding, i.embedding_hash)
