// Users, items and interactions per split of one dataset. The split counts are collected
// inside the subquery, so a dataset without interactions yet (e.g. an interrupted first
// ingest) still returns its row, with an empty list.
MATCH (d:Dataset {name: $dataset})
CALL (d) {
  MATCH (:User {dataset: d.name})-[x:INTERACTED]->()
  WITH x.split AS split, count(*) AS n
  RETURN collect({split: split, n: n}) AS splits
}
RETURN d.name AS dataset, d.domain AS domain, d.status AS status,
       COUNT { MATCH (u:User {dataset: d.name}) } AS users,
       COUNT { MATCH (i:Item {dataset: d.name}) } AS items,
       splits
