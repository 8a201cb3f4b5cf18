// What recommending for one user needs: the dataset's serving run, the item-item graph to
// explain with (the active build; else the serving run's own), and whether the user has a vector.
MATCH (d:Dataset {name: $dataset})
OPTIONAL MATCH (r:TrainingRun {id: d.serving_run})
OPTIONAL MATCH (u:User {dataset: $dataset, id: $user})
OPTIONAL CALL (d) {
  MATCH (g:GraphBuild {dataset: d.name, status: 'ok', active: true})
  RETURN g.id AS latest_build
  ORDER BY g.created_at DESC
  LIMIT 1
}
RETURN d.serving_run AS run, coalesce(latest_build, r.graph_build) AS build,
       u IS NOT NULL AS user_found, u.rec_run = d.serving_run AS has_vector,
       COUNT { (u)-[:INTERACTED]->() } AS n_seen
