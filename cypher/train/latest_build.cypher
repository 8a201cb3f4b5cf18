// The most recent item-item graph build of the dataset.
MATCH (g:GraphBuild {dataset: $dataset})
RETURN g.id AS id, g.params AS params
ORDER BY coalesce(g.finished_at, g.created_at, g.started_at) DESC, g.id DESC
LIMIT 1
