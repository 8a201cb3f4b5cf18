// Every item of the dataset with its metadata and the provenance of its current description.
MATCH (i:Item {dataset: $dataset})
RETURN i.id AS id, i.title AS title, i.brand AS brand, i.category AS category,
       i.description AS description, i.image AS image,
       i.image_description AS image_description, i.description_model AS model,
       i.description_prompt AS prompt, i.text_hash AS text_hash
ORDER BY id
