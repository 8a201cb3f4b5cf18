// Deletes a dataset's nodes (after drop_relationships) and its Dataset node, in batches.
MATCH (n {dataset: $dataset})
CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 10000 ROWS
