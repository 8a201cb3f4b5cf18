// Stage a run's user vectors beside the serving ones; promote_run switches them atomically.
UNWIND $rows AS row
MATCH (u:User {dataset: $dataset, id: row.id})
CALL db.create.setNodeVectorProperty(u, 'rec_stage_vector', row.vector)
SET u.rec_stage_run = $run
