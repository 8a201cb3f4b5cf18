// Preference-text vectors of the given users ($ids) of the dataset.
UNWIND $ids AS id
MATCH (u:User {dataset: $dataset, id: id})
RETURN u.id AS id, u.embedding AS embedding
