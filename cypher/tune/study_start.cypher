// A tuning study is (re)started on a dataset: one (:TuningStudy) per Optuna study, keyed by
// the id stored in the study itself (every worker and every resumed run finds the same
// node), with its search space, sampler and pruner (JSON / names) and the storage it lives in
// (password hidden).
MATCH (d:Dataset {name: $dataset})
MERGE (s:TuningStudy {id: $id})
ON CREATE SET s.created_at = datetime(), s.name = $study_name, s.dataset = $dataset
SET s.storage = $storage, s.space = $space, s.sampler = $sampler, s.pruner = $pruner,
    s.n_trials = $n_trials, s.metric = $metric, s.direction = 'maximize',
    s.trial_settings = $trial_settings, s.updated_at = datetime()
MERGE (s)-[:TUNED_ON]->(d)
RETURN s.id AS id
