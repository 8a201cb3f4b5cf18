// The latest run of each stage of a dataset, any status.
MATCH (s:StageRun {dataset: $dataset})
WITH s ORDER BY s.started_at DESC
WITH s.stage AS stage, collect(s)[0] AS s
RETURN stage, s.status AS status, s.params AS params, s.fingerprint AS fingerprint,
       s.counts AS counts, toString(s.started_at) AS started_at,
       toString(s.finished_at) AS finished_at, s.seconds AS seconds, s.error AS error
ORDER BY started_at
