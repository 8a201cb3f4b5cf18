// Training runs of a dataset, newest first.
MATCH (r:TrainingRun {dataset: $dataset})
RETURN r.id AS id, r.model AS model, r.status AS status, r.serving AS serving,
       r.metrics AS metrics, r.best_epoch AS best_epoch, r.device AS device,
       toString(r.started_at) AS started_at, r.checkpoint AS checkpoint,
       coalesce(r.user_text_scope, 'train') AS user_text_scope,
       r.cold_items AS cold_items, r.cold_users AS cold_users
ORDER BY r.started_at DESC
LIMIT $limit
