// Replace whole SIMILAR rows of build $build: each row's source loses its SIMILAR edges of the
// build and gets row.neighbours (target, cosine) instead. Writing a row whole keeps a re-run
// idempotent (an interrupted refresh is simply run again). One transaction per batch of rows.
UNWIND $rows AS row
MATCH (i:Item {dataset: $dataset, id: row.source})
CALL (i) {
  MATCH (i)-[r:SIMILAR]->(:Item)
  WHERE r.build = $build
  DELETE r
}
WITH i, row
UNWIND row.neighbours AS n
MATCH (j:Item {dataset: $dataset, id: n.target})
CREATE (i)-[:SIMILAR {cosine: n.cosine, build: $build}]->(j)
