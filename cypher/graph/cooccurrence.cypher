// Co-occurrence graph G_c (docs/method.md section 5): for every item i, its top $knn_jac other
// items j by the Jaccard index of their TRAINING audiences,
//   |U_i ∩ U_j| / (|U_i| + |U_j| - |U_i ∩ U_j|),
// written as (i)-[:CO_OCCURS {jaccard, build}]->(j). Ties: Jaccard desc, then j.id asc.
// Only split-0 interactions are read, so validation and test never contribute.
//
// Each user's training basket is read from the store once (reading the split of every
// relationship again for every (item, co-user) pair is what makes the naive 2-hop pattern
// slow). For item i, the baskets of its audience are unwound to count |U_i ∩ U_j| per j;
// size(baskets) is |U_i| and j.train_degree (graph/train_degree) is |U_j|. Memory: the
// baskets (one entry per training interaction) plus, per item, its co-occurring items.
// One write transaction per $batch items.
MATCH (u:User {dataset: $dataset})-[:INTERACTED {split: 0}]->(j:Item)
WITH u, collect(j) AS basket
UNWIND basket AS i
WITH i, collect(basket) AS baskets
CALL (i, baskets) {
  UNWIND baskets AS basket
  UNWIND basket AS j
  WITH j WHERE j <> i
  WITH j, count(*) AS inter
  WITH j, toFloat(inter) / (size(baskets) + j.train_degree - inter) AS jaccard
  ORDER BY jaccard DESC, j.id ASC
  LIMIT $knn_jac
  CREATE (i)-[:CO_OCCURS {jaccard: jaccard, build: $build}]->(j)
  RETURN count(*) AS edges
} IN TRANSACTIONS OF $batch ROWS
RETURN count(*) AS items, sum(edges) AS edges
