// Deletes every relationship touching a dataset's nodes, in batches.
MATCH (n {dataset: $dataset})-[r]-()
CALL (r) { DELETE r } IN TRANSACTIONS OF 10000 ROWS
