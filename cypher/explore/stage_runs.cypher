// The pipeline's history: every stage run of a dataset, newest first, with outcome, duration and counts.
// :param dataset => "ml-100k"
// :param limit => 50
MATCH (s:StageRun {dataset: $dataset}) WHERE s.stage IS NOT NULL
RETURN s.stage AS stage, s.status AS status, toString(s.started_at) AS started,
       s.seconds AS seconds, s.counts AS counts, s.error AS error,
       s.input_fingerprint IS NOT NULL AS run_by_pipeline
ORDER BY s.started_at DESC
LIMIT toInteger($limit)
