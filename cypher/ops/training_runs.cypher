// Every training run of a dataset, newest first, with whether it is the one serving.
MATCH (r:TrainingRun {dataset: $dataset})
OPTIONAL MATCH (d:Dataset {name: $dataset})
RETURN r.id AS id, properties(r) AS props, r.id = d.serving_run AS serving
ORDER BY coalesce(r.finished_at, r.started_at, r.created_at) DESC
