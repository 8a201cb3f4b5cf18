// A graph build begins; its edges carry its id until it becomes the dataset's active build.
CREATE (b:GraphBuild {id: $id, dataset: $dataset, knn_k: $knn_k, knn_jac: $knn_jac,
                      pure: $pure, approximate: $approximate, params: $params,
                      status: 'running', active: false, created_at: datetime()})
