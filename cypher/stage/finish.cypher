MATCH (s:StageRun {id: $id})
SET s.status = $status, s.finished_at = datetime(), s.counts = $counts, s.error = $error,
    s.seconds = duration.inSeconds(s.started_at, datetime()).seconds
