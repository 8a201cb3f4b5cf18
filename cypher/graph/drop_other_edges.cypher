// After a build wrote its edges: remove the dataset's CO_OCCURS / SIMILAR edges of any other
// build, so the dataset has one active edge set (re-runs never duplicate). Batched.
MATCH (:Item {dataset: $dataset})-[r:CO_OCCURS|SIMILAR]->()
WHERE r.build <> $build
CALL (r) { DELETE r } IN TRANSACTIONS OF 10000 ROWS
