// Exact semantic kNN for a few source items ($sources, ids), in memory bounded by one row:
// each source scans the dataset's items (brute force, vector.similarity.cosine in float32 to
// rank), the top $candidates are re-scored in float64 and cut to $knn_k (cosine desc, id asc),
// as graph/similar_exact does. That query collects every vector of the dataset once per
// batch (fast for the small catalogues it serves, but over the transaction memory limit near
// 60k items); this one serves the recall check of approximate builds at any size.
UNWIND $sources AS source
MATCH (i:Item {dataset: $dataset, id: source}) WHERE i.embedding IS NOT NULL
CALL (i) {
  WITH i.embedding AS q
  MATCH (j:Item {dataset: $dataset}) WHERE j.embedding IS NOT NULL
  WITH q, j, vector.similarity.cosine(q, j.embedding) AS score
  ORDER BY score DESC, j.id ASC
  LIMIT $candidates
  WITH q, j.id AS target, j.embedding AS e, range(0, size(q) - 1) AS dims
  WITH target, reduce(s = 0.0, d IN dims | s + q[d] * e[d])
       / (sqrt(reduce(s = 0.0, d IN dims | s + q[d] * q[d]))
          * sqrt(reduce(s = 0.0, d IN dims | s + e[d] * e[d]))) AS cosine
  ORDER BY cosine DESC, target ASC
  LIMIT $knn_k
  RETURN collect({target: target, cosine: cosine}) AS neighbours
}
RETURN i.id AS source, neighbours
