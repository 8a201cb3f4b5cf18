// Inputs of 'refresh': the serving run, the active build, and the items and users without a
// vector of the serving run (new since it was trained) with their text vectors (by hash).
MATCH (d:Dataset {name: $dataset})
OPTIONAL MATCH (build:GraphBuild {dataset: $dataset, status: 'ok', active: true})
CALL (d) {
  MATCH (i:Item {dataset: d.name})
  WHERE i.rec_run IS NULL OR i.rec_run <> d.serving_run
  WITH i ORDER BY i.id
  RETURN collect([i.id, i.embedding_hash]) AS items
}
CALL (d) {
  MATCH (u:User {dataset: d.name})
  WHERE u.rec_run IS NULL OR u.rec_run <> d.serving_run
  WITH u ORDER BY u.id
  RETURN collect([u.id, u.embedding_hash]) AS users
}
RETURN d.serving_run AS run, build.id AS build, items, users
