MATCH (s:StageRun {dataset: $dataset, stage: $stage, status: 'ok'})
RETURN s.fingerprint AS fingerprint, s.params AS params, s.counts AS counts,
       toString(s.finished_at) AS finished_at
ORDER BY s.finished_at DESC LIMIT 1
