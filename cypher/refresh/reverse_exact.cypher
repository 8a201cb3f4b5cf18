// Reverse semantic neighbours of new items ($sources), exact (brute force, as an exact build):
// every other item x of the dataset that is not new ($new) with cos(x, n) >= $pure. Only such a
// pair can put the new item n into x's kept top-k (graph/similar_exact keeps cosine >= pure), so
// the caller merges these into x's current row. vector.similarity.cosine (float32, returns
// (1 + cos) / 2) only pre-filters with a margin far wider than float32 noise; the kept pairs are
// re-scored in float64 as dot / (|x| |n|), the formula graph/similar_exact stores. Read-only.
UNWIND $sources AS source
MATCH (n:Item {dataset: $dataset, id: source}) WHERE n.embedding IS NOT NULL
CALL (n) {
  WITH n.embedding AS q
  MATCH (x:Item {dataset: $dataset}) WHERE x.embedding IS NOT NULL AND NOT x.id IN $new
  WITH q, x, vector.similarity.cosine(q, x.embedding) AS score
  WHERE 2.0 * score - 1.0 >= $pure - 0.0001
  WITH x.id AS item, q, x.embedding AS e, range(0, size(q) - 1) AS dims
  WITH item, reduce(s = 0.0, d IN dims | s + e[d] * q[d])
       / (sqrt(reduce(s = 0.0, d IN dims | s + e[d] * e[d]))
          * sqrt(reduce(s = 0.0, d IN dims | s + q[d] * q[d]))) AS cosine
  WHERE cosine >= $pure
  RETURN collect({item: item, cosine: cosine}) AS items
}
RETURN n.id AS source, items
