// The winner's validation and test metrics (test computed once, after the study) on the
// study and on the winner's training run.
MATCH (s:TuningStudy {id: $id})
MATCH (r:TrainingRun {id: $run})
SET s += $study_props, s.updated_at = datetime(), r += $run_props
