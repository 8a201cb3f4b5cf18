// Stores precomputed 384-d vectors on a dataset's users (synthetic benchmark data only;
// real data gets its vectors from the embed stage). $rows: [{id, vector}].
UNWIND $rows AS row
MATCH (n:User {dataset: $dataset, id: row.id})
CALL db.create.setNodeVectorProperty(n, 'embedding', row.vector)
