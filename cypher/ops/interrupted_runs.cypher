// Stage and training runs of the dataset that were killed before recording an outcome.
MATCH (r)
WHERE (r:StageRun OR r:TrainingRun) AND r.dataset = $dataset AND r.status = 'interrupted'
RETURN labels(r)[0] AS kind, coalesce(r.stage, r.model) AS what, r.id AS id,
       toString(r.started_at) AS started_at, r.error AS error
ORDER BY started_at DESC
