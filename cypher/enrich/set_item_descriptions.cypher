// Image descriptions written by the VLM, with provenance, and the item's new fused text.
UNWIND $rows AS row
MATCH (i:Item {dataset: $dataset, id: row.id})
SET i.image_description = row.image_description,
    i.description_model = $model,
    i.description_prompt = $prompt,
    i.described_at = datetime(),
    i.text = row.text,
    i.text_hash = row.text_hash
