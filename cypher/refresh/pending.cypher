// What `refresh` has to do on a dataset: its serving run, and the items and users without a
// vector of that run (new since it was trained), split into those with a text vector
// (`embedding`: refreshable now, with its dimension) and those still waiting for `embed`. Also
// the squared MIPS norm M^2 of the run (every stored key of the run has length M: see
// train/vector_indexes), read from one item it trained.
MATCH (d:Dataset {name: $dataset})
CALL (d) {
  MATCH (i:Item {dataset: d.name})
  WHERE i.rec_run IS NULL OR i.rec_run <> d.serving_run
  RETURN collect(CASE WHEN i.embedding IS NOT NULL THEN i.id END) AS items,
         collect(DISTINCT size(i.embedding)) AS item_dims,
         count(CASE WHEN i.embedding IS NULL THEN 1 END) AS items_waiting
}
CALL (d) {
  MATCH (u:User {dataset: d.name})
  WHERE u.rec_run IS NULL OR u.rec_run <> d.serving_run
  RETURN collect(CASE WHEN u.embedding IS NOT NULL THEN u.id END) AS users,
         collect(DISTINCT size(u.embedding)) AS user_dims,
         count(CASE WHEN u.embedding IS NULL THEN 1 END) AS users_waiting
}
OPTIONAL CALL (d) {
  MATCH (i:Item {dataset: d.name})
  WHERE i.rec_run = d.serving_run AND i.rec_inductive IS NULL
  WITH i LIMIT 1
  RETURN reduce(s = 0.0, x IN i.rec_key | s + x * x) AS key_norm_sq
}
RETURN d.serving_run AS run, items, item_dims, items_waiting, users, user_dims, users_waiting,
       key_norm_sq
