// Item text vectors, stored as vector properties (float32) for the vector index.
UNWIND $rows AS row
MATCH (i:Item {dataset: $dataset, id: row.id})
CALL db.create.setNodeVectorProperty(i, 'embedding', row.vector)
SET i.embedding_hash = row.hash
