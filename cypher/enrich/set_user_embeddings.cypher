// User preference vectors, stored as vector properties (float32) for the vector index.
UNWIND $rows AS row
MATCH (u:User {dataset: $dataset, id: row.id})
CALL db.create.setNodeVectorProperty(u, 'embedding', row.vector)
SET u.embedding_hash = row.hash
