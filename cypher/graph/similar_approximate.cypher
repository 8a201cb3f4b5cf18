// Approximate semantic kNN for a batch of source items ($sources, ids) through the HNSW
// vector index $index: $fetch nearest nodes are asked for (the index spans every dataset,
// so the caller scales $fetch by the index's share of other datasets' items), those of this
// dataset are ranked by index score ((1 + cos) / 2, possibly quantised), the best
// $candidates - 1 plus the item itself (its own top match, which HNSW may miss) are
// re-scored in float64 as dot / (|q| |e|), re-ranked (cosine desc, id asc) and cut to
// $knn_k as in similar_exact. Read-only: the caller applies the threshold and writes.
UNWIND $sources AS source
MATCH (i:Item {dataset: $dataset, id: source}) WHERE i.embedding IS NOT NULL
CALL (i) {
  CALL (i) {
    CALL db.index.vector.queryNodes($index, $fetch, i.embedding) YIELD node AS j, score
    WITH j, score WHERE j.dataset = $dataset AND j <> i
    ORDER BY score DESC
    LIMIT $candidates - 1
    RETURN collect(j) AS found
  }
  WITH found + [i] AS candidates, i.embedding AS q, range(0, size(i.embedding) - 1) AS dims
  WITH candidates, q, dims, sqrt(reduce(s = 0.0, d IN dims | s + q[d] * q[d])) AS norm_q
  UNWIND candidates AS j
  WITH j, q, dims, norm_q, j.embedding AS e
  WITH j, reduce(s = 0.0, d IN dims | s + q[d] * e[d])
          / (norm_q * sqrt(reduce(s = 0.0, d IN dims | s + e[d] * e[d]))) AS cosine
  ORDER BY cosine DESC, j.id ASC
  LIMIT $knn_k
  RETURN collect({target: j.id, cosine: cosine}) AS neighbours
}
RETURN i.id AS source, neighbours
