// After the pipeline ran a stage: mark that stage's newest successful run (started after
// $since) with the input fingerprint the pipeline computed, so an unchanged rerun is skipped.
MATCH (s:StageRun {dataset: $dataset, stage: $stage, status: 'ok'})
WHERE s.started_at >= datetime($since)
WITH s ORDER BY s.started_at DESC LIMIT 1
SET s.input_fingerprint = $fingerprint
RETURN s.id AS id
