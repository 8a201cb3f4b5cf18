// A failed build's partial edges are removed; the previous active build's edges stay.
MATCH (:Item {dataset: $dataset})-[r:CO_OCCURS|SIMILAR]->()
WHERE r.build = $build
CALL (r) { DELETE r } IN TRANSACTIONS OF 10000 ROWS
