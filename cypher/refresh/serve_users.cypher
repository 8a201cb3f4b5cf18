// Serve inductive user vectors (computed by `refresh` from preference text with run $run's
// weights), tagged with the run and rec_inductive = true; only while $run still serves the
// dataset. One transaction per batch of rows.
MATCH (d:Dataset {name: $dataset}) WHERE d.serving_run = $run
UNWIND $rows AS row
MATCH (u:User {dataset: $dataset, id: row.id})
CALL db.create.setNodeVectorProperty(u, 'rec_vector', row.vector)
SET u.rec_run = $run, u.rec_inductive = true, u.rec_inductive_at = datetime()
