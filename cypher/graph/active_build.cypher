// The dataset's active graph build: the latest successful one (its edges are the graph).
MATCH (b:GraphBuild {dataset: $dataset, status: 'ok', active: true})
RETURN b.id AS id, b.knn_k AS knn_k, b.knn_jac AS knn_jac, b.pure AS pure,
       b.approximate AS approximate, b.timings AS timings, b.counts AS counts,
       toString(b.created_at) AS created_at
ORDER BY b.created_at DESC LIMIT 1
