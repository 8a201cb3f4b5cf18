// Make a fully staged run the serving run, in ONE transaction: only if every user and item of
// the run is staged, copy staged vectors to the serving properties (nodes not in the run lose
// theirs; vectors `refresh` served inductively end with the run they were computed from), clear
// the staging, and move Dataset.serving_run. Returns no row when incomplete.
MATCH (d:Dataset {name: $dataset})
MATCH (r:TrainingRun {id: $run, dataset: $dataset})
CALL (d) {
  MATCH (i:Item {dataset: d.name}) WHERE i.rec_stage_run = $run
  RETURN count(i) AS staged_items
}
CALL (d) {
  MATCH (u:User {dataset: d.name}) WHERE u.rec_stage_run = $run
  RETURN count(u) AS staged_users
}
WITH d, r, staged_items, staged_users
WHERE staged_items = $n_items AND staged_users = $n_users
CALL (d) {
  MATCH (i:Item {dataset: d.name})
  WITH i, coalesce(i.rec_stage_run = $run, false) AS mine
  SET i.rec_vector = CASE WHEN mine THEN i.rec_stage_vector END,
      i.rec_key = CASE WHEN mine THEN i.rec_stage_key END,
      i.rec_run = CASE WHEN mine THEN $run END,
      i.rec_inductive = null, i.rec_inductive_at = null
  WITH i WHERE mine
  REMOVE i.rec_stage_vector, i.rec_stage_key, i.rec_stage_run
}
CALL (d) {
  MATCH (u:User {dataset: d.name})
  WITH u, coalesce(u.rec_stage_run = $run, false) AS mine
  SET u.rec_vector = CASE WHEN mine THEN u.rec_stage_vector END,
      u.rec_run = CASE WHEN mine THEN $run END,
      u.rec_inductive = null, u.rec_inductive_at = null
  WITH u WHERE mine
  REMOVE u.rec_stage_vector, u.rec_stage_run
}
CALL (d) {
  OPTIONAL MATCH (old:TrainingRun {dataset: d.name, serving: true})
  SET old.serving = false
}
SET d.serving_run = $run, r.serving = true, r.served_at = datetime()
RETURN staged_items, staged_users
