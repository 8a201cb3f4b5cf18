// Users, items and interactions per split of one dataset.
MATCH (d:Dataset {name: $dataset})
CALL (d) {
  MATCH (:User {dataset: d.name})-[x:INTERACTED]->()
  RETURN x.split AS split, count(*) AS n
}
RETURN d.name AS dataset, d.domain AS domain, d.status AS status,
       COUNT { MATCH (u:User {dataset: d.name}) } AS users,
       COUNT { MATCH (i:Item {dataset: d.name}) } AS items,
       collect({split: split, n: n}) AS splits
