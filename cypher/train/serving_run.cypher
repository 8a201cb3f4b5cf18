// The run recommendations of a dataset come from.
MATCH (d:Dataset {name: $dataset})
OPTIONAL MATCH (r:TrainingRun {id: d.serving_run})
RETURN d.serving_run AS run, r.graph_build AS graph_build, r.metrics AS metrics,
       r.model AS model, r.checkpoint AS checkpoint, properties(r) AS props
