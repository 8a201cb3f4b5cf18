// Reverse semantic neighbours of new items ($sources) through the HNSW vector index $index, as
// an approximate build searches: the $fetch nearest nodes of each new item n (the index spans
// every dataset), kept when they are items x of this dataset that are not new ($new) with
// cos(x, n) >= $pure (cosine read from the index score as 2 * score - 1, float32 precision, as
// graph/similar_approximate stores it). Only such a pair can put n into x's kept top-k; the
// caller merges these into x's current row. Read-only.
UNWIND $sources AS source
MATCH (n:Item {dataset: $dataset, id: source}) WHERE n.embedding IS NOT NULL
CALL (n) {
  CALL db.index.vector.queryNodes($index, $fetch, n.embedding) YIELD node AS x, score
  WITH x, 2.0 * score - 1.0 AS cosine
  WHERE x.dataset = $dataset AND x <> n AND NOT x.id IN $new AND cosine >= $pure
  RETURN collect({item: x.id, cosine: cosine}) AS items
}
RETURN n.id AS source, items
