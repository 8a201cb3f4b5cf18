// A trial's training run belongs to its study (any outcome: ok, pruned, failed).
MATCH (s:TuningStudy {id: $study})
MATCH (r:TrainingRun {id: $run})
MERGE (s)-[t:TRIAL]->(r)
SET t.number = $number, r.tuning_study = $study, r.trial = $number
