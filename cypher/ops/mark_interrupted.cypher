// Runs whose process ended without recording an outcome (killed): 'interrupted', not 'running'.
MATCH (r)
WHERE (r:StageRun OR r:TrainingRun) AND r.dataset = $dataset AND r.id IN $ids
  AND r.status = 'running'
SET r.status = 'interrupted', r.finished_at = datetime(),
    r.error = 'interrupted: process ' + toString(r.pid) + ' on ' + r.host +
              ' ended without recording an outcome'
RETURN count(r) AS marked
