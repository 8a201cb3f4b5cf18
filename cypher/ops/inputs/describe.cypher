// Inputs of 'describe': the dataset's domain and every item's metadata and image reference.
// The pipeline hashes these rows; an unchanged hash (and parameters) means nothing to describe.
MATCH (d:Dataset {name: $dataset})
CALL (d) {
  MATCH (i:Item {dataset: d.name})
  WITH i ORDER BY i.id
  RETURN collect([i.id, i.title, i.brand, i.category, i.description, i.image]) AS items
}
RETURN d.domain AS domain, items
