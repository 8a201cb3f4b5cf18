// The run recommendations are served from (Dataset.serving_run) and its stored properties.
MATCH (d:Dataset {name: $dataset})
OPTIONAL MATCH (r:TrainingRun {dataset: $dataset, id: d.serving_run})
RETURN d.serving_run AS id, properties(r) AS props
