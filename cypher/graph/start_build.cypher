// A graph build begins; its edges carry its id until it becomes the dataset's active build.
// A side build ($kept: a tuning trial's graph) stays beside the active one; $inputs is the
// fingerprint of what it was built from (embeddings, training audiences), its reuse key.
CREATE (b:GraphBuild {id: $id, dataset: $dataset, knn_k: $knn_k, knn_jac: $knn_jac,
                      pure: $pure, approximate: $approximate, params: $params,
                      status: 'running', active: false, kept: false, side: $side,
                      inputs: $inputs, created_at: datetime()})
