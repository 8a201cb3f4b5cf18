// After each trial: the study's trial counts per state and its best trial so far.
MATCH (s:TuningStudy {id: $id})
SET s += $props, s.updated_at = datetime()
