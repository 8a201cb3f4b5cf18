// Fused item texts (null when the item has no text at all).
UNWIND $rows AS row
MATCH (i:Item {dataset: $dataset, id: row.id})
SET i.text = row.text, i.text_hash = row.text_hash
