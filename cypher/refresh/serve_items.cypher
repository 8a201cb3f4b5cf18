// Serve inductive item vectors (computed by `refresh` from text with run $run's weights): the
// vector and its MIPS key become the serving properties, tagged with the run and
// rec_inductive = true, exactly as promote_run leaves a trained item (plus the tag). Written
// only while $run still serves the dataset. One transaction per batch of rows.
MATCH (d:Dataset {name: $dataset}) WHERE d.serving_run = $run
UNWIND $rows AS row
MATCH (i:Item {dataset: $dataset, id: row.id})
CALL db.create.setNodeVectorProperty(i, 'rec_vector', row.vector)
CALL db.create.setNodeVectorProperty(i, 'rec_key', row.key)
SET i.rec_run = $run, i.rec_inductive = true, i.rec_inductive_at = datetime()
