// The dataset's stage and training runs still marked 'running', with the process that runs them.
MATCH (r:StageRun {dataset: $dataset, status: 'running'})
RETURN r.id AS id, r.host AS host, r.pid AS pid
UNION ALL
MATCH (r:TrainingRun {dataset: $dataset, status: 'running'})
RETURN r.id AS id, r.host AS host, r.pid AS pid
