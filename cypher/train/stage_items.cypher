// Stage a run's item vectors beside the serving ones; promote_run switches them atomically.
UNWIND $rows AS row
MATCH (i:Item {dataset: $dataset, id: row.id})
CALL db.create.setNodeVectorProperty(i, 'rec_stage_vector', row.vector)
CALL db.create.setNodeVectorProperty(i, 'rec_stage_key', row.key)
SET i.rec_stage_run = $run
