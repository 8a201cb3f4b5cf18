// Text vectors of the given items ($ids) of the dataset.
UNWIND $ids AS id
MATCH (i:Item {dataset: $dataset, id: id})
RETURN i.id AS id, i.embedding AS embedding
