// The domain of a dataset's items (used in prompts), null if the dataset does not exist.
OPTIONAL MATCH (d:Dataset {name: $dataset})
RETURN d IS NOT NULL AS exists, d.domain AS domain
