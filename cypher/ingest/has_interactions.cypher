// Whether the dataset already has any interaction (decides CREATE vs MERGE).
RETURN EXISTS { MATCH (:User {dataset: $dataset})-[:INTERACTED]->() } AS any
