// A training run begins: recorded before any work, so a crash leaves a 'running'/'failed' trace.
// user_text_scope labels the user texts it trained on: 'all' when any of them was built with
// the leaky history scope (validation and test items in the text: comparison only).
// cold_items / cold_users label a dataset split by the cold-start protocol (the held-out
// fractions, from the Dataset node; absent for the warm split).
MATCH (d:Dataset {name: $dataset})
CREATE (r:TrainingRun {id: $id, dataset: $dataset, model: $model, status: 'running',
                       started_at: datetime(), params: $params, device: $device,
                       code_version: $code_version, graph_build: $graph_build, serving: false,
                       host: $host, pid: $pid, cold_items: d.cold_items, cold_users: d.cold_users,
                       user_text_scope: CASE WHEN EXISTS {
                         MATCH (u:User {dataset: $dataset}) WHERE u.preference_scope = 'all'
                       } THEN 'all' ELSE 'train' END})
CREATE (r)-[:TRAINED_ON]->(d)
RETURN r.id AS id, r.user_text_scope AS user_text_scope, r.cold_items AS cold_items,
       r.cold_users AS cold_users
