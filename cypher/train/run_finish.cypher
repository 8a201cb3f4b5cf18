// A training run ends: status, metrics per split (JSON and flat numbers), timings, outcome.
MATCH (r:TrainingRun {id: $id})
SET r += $props, r.status = $status, r.finished_at = datetime()
