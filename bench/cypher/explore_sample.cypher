// What the explore benchmark samples from: the users and items of the dataset's serving run.
MATCH (d:Dataset {name: $dataset})
CALL (d) {
  MATCH (u:User {dataset: $dataset}) WHERE u.id IS NOT NULL AND u.rec_run = d.serving_run
  RETURN collect(u.id) AS users
}
CALL (d) {
  MATCH (i:Item {dataset: $dataset}) WHERE i.id IS NOT NULL AND i.rec_run = d.serving_run
  RETURN collect(i.id) AS items
}
RETURN users, items
