// Pass 1 of the co-occurrence graph: |U_i|, the number of users with a TRAINING interaction
// (split 0) with item i, stored once on the item so the pair pass reads it per candidate
// instead of re-counting its audience. Batched: one transaction per $batch items.
MATCH (i:Item {dataset: $dataset})
CALL (i) {
  SET i.train_degree = COUNT { (:User)-[:INTERACTED {split: 0}]->(i) }
} IN TRANSACTIONS OF $batch ROWS
