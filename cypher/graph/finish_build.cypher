// A build succeeded: it becomes the dataset's only active build (older GraphBuild nodes stay
// as history, their edges were already replaced), with its timings and counts (JSON).
MATCH (b:GraphBuild {id: $id})
SET b.status = 'ok', b.active = true, b.finished_at = datetime(),
    b.timings = $timings, b.counts = $counts
WITH b
MATCH (old:GraphBuild {dataset: b.dataset, active: true}) WHERE old <> b
SET old.active = false
