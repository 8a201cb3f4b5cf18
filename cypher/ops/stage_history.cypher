// The newest run of each stage of a dataset (any outcome), with its parameters and counts.
MATCH (s:StageRun {dataset: $dataset})
WITH s ORDER BY s.started_at DESC
WITH s.stage AS stage, collect(s) AS runs
WITH stage, runs[0] AS s, [r IN runs WHERE r.status = 'ok'][0] AS ok
RETURN stage, s.status AS status, s.params AS params, s.counts AS counts, s.error AS error,
       toString(s.started_at) AS started_at, s.seconds AS seconds,
       toString(ok.finished_at) AS last_ok_at, s.input_fingerprint IS NOT NULL AS by_pipeline
ORDER BY started_at
