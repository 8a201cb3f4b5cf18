// The newest successful run of a stage, with the input fingerprint the pipeline stored on it.
MATCH (s:StageRun {dataset: $dataset, stage: $stage, status: 'ok'})
RETURN s.id AS id, s.input_fingerprint AS input_fingerprint, toString(s.finished_at) AS finished_at
ORDER BY s.finished_at DESC LIMIT 1
