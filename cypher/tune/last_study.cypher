// The dataset's most recently updated tuning study, with its trial count in Neo4j.
MATCH (s:TuningStudy {dataset: $dataset})
RETURN properties(s) AS props, COUNT { (s)-[:TRIAL]->() } AS linked_runs
ORDER BY s.updated_at DESC
LIMIT 1
