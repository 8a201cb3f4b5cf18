// One training run of a dataset with all its stored properties (metrics, sizes, checkpoint).
MATCH (r:TrainingRun {dataset: $dataset, id: $run})
RETURN properties(r) AS props
