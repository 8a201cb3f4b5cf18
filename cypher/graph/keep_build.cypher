// A side build succeeded: its edges stay beside the active build's, found again by its
// parameters and inputs (graph/find_build); it is not the dataset's graph.
MATCH (b:GraphBuild {id: $id})
SET b.status = 'ok', b.kept = true, b.finished_at = datetime(),
    b.timings = $timings, b.counts = $counts
