// Items that have no image description yet (no image, a failed description, or --no-llm), with what they do have.
// :param dataset => "ml-100k"
// :param limit => 25
MATCH (i:Item {dataset: $dataset})
WHERE i.id IS NOT NULL AND i.image_description IS NULL
RETURN i.id AS item, i.title AS title, i.image IS NOT NULL AS has_image,
       i.text IS NOT NULL AS has_text, i.described_by AS described_by,
       COUNT { (i)<-[:INTERACTED]-() } AS interactions
ORDER BY interactions DESC, item
LIMIT toInteger($limit)
