// A kept side build (a served tuning winner's graph) becomes the dataset's active build; the
// caller then removes every other build's edges (graph/drop_other_edges). No row: the build
// is neither active nor kept (its edges are gone).
MATCH (b:GraphBuild {id: $id, dataset: $dataset, status: 'ok'})
WHERE b.active OR b.kept
SET b.active = true, b.kept = false
WITH b
CALL (b) {
  MATCH (old:GraphBuild {dataset: b.dataset}) WHERE old <> b AND (old.active OR old.kept)
  SET old.active = false, old.kept = false
}
RETURN b.id AS id
