// Texts and metadata of every item, to build behavioural lists.
MATCH (i:Item {dataset: $dataset})
RETURN i.id AS id, i.text AS text, i.title AS title, i.brand AS brand,
       i.category AS category, i.description AS description
