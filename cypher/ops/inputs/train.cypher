// Inputs of 'train': every labelled interaction, the user and item embeddings (by hash) and
// the latest successful item-item graph build.
OPTIONAL MATCH (s:StageRun {dataset: $dataset, stage: 'build-graph', status: 'ok'})
WITH s ORDER BY s.finished_at DESC LIMIT 1
CALL () {
  MATCH (i:Item {dataset: $dataset})
  WITH i ORDER BY i.id
  RETURN collect([i.id, i.embedding_hash]) AS items
}
CALL () {
  MATCH (u:User {dataset: $dataset})
  OPTIONAL MATCH (u)-[x:INTERACTED]->(i:Item)
  WITH u, x, i ORDER BY u.id, i.id
  WITH u, collect([i.id, x.split]) AS inter
  RETURN collect([u.id, u.embedding_hash, inter]) AS users
}
RETURN s.id AS graph_build_run, items, users
