// A build succeeded: it becomes the dataset's only active build (older GraphBuild nodes stay
// as history, their edges were already replaced, side builds' included), with its timings
// and counts (JSON).
MATCH (b:GraphBuild {id: $id})
SET b.status = 'ok', b.active = true, b.kept = false, b.finished_at = datetime(),
    b.timings = $timings, b.counts = $counts
WITH b
MATCH (old:GraphBuild {dataset: b.dataset}) WHERE old <> b AND (old.active OR old.kept)
SET old.active = false, old.kept = false
