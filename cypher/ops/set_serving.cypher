// Point a dataset's recommendations at one of its finished training runs (retrain's fallback
// when a new run's validation Recall@20 dropped too much).
MATCH (d:Dataset {name: $dataset})
MATCH (r:TrainingRun {dataset: $dataset, id: $run})
SET d.serving_run = r.id
RETURN r.id AS serving_run
