// Every training run of a dataset, newest first: model, outcome, epochs, validation and test Recall@20 / NDCG@20, and which run serves.
// :param dataset => "ml-100k"
MATCH (r:TrainingRun {dataset: $dataset})
OPTIONAL MATCH (d:Dataset {name: $dataset})
RETURN r.id AS run, r.model AS model, r.status AS status, r.epochs AS epochs,
       r.best_epoch AS best_epoch, r.valid_recall_20 AS valid_recall_20,
       r.valid_ndcg_20 AS valid_ndcg_20, r.test_recall_20 AS test_recall_20,
       r.test_ndcg_20 AS test_ndcg_20, coalesce(r.id = d.serving_run, false) AS serving,
       toString(r.started_at) AS started
ORDER BY started DESC
