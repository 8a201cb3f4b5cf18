// The dataset's active graph build: the one successful build `finish_build` marked active
// (its edges are the graph). Every query that needs "the build" matches it with exactly the
// line below (tests/unit/test_active_build.py holds them to it).
MATCH (build:GraphBuild {dataset: $dataset, status: 'ok', active: true})
RETURN build.id AS id, build.knn_k AS knn_k, build.knn_jac AS knn_jac, build.pure AS pure,
       build.approximate AS approximate, build.params AS params, build.timings AS timings,
       build.counts AS counts,
       toString(build.created_at) AS created_at
ORDER BY build.created_at DESC LIMIT 1
