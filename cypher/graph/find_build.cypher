// A finished build of the dataset with these parameters whose edges are in the database: the
// active build, or a kept side build made from the same inputs (fingerprint $inputs).
MATCH (b:GraphBuild {dataset: $dataset, status: 'ok'})
WHERE b.knn_k = $knn_k AND b.knn_jac = $knn_jac AND b.pure = $pure
  AND b.approximate = $approximate
  AND (b.active OR (b.kept AND b.inputs = $inputs))
RETURN b.id AS id, b.active AS active
ORDER BY b.active DESC, b.created_at DESC
LIMIT 1
