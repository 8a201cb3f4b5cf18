// A training run begins: recorded before any work, so a crash leaves a 'running'/'failed' trace.
MATCH (d:Dataset {name: $dataset})
CREATE (r:TrainingRun {id: $id, dataset: $dataset, model: $model, status: 'running',
                       started_at: datetime(), params: $params, device: $device,
                       code_version: $code_version, graph_build: $graph_build, serving: false,
                       host: $host, pid: $pid})
CREATE (r)-[:TRAINED_ON]->(d)
RETURN r.id AS id
