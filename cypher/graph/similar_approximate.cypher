// Approximate semantic kNN for a batch of source items ($sources, ids) through the HNSW
// vector index $index: $fetch nearest nodes are asked for (the index spans every dataset,
// so the caller scales $fetch by the index's share of other datasets' items), kept if they
// belong to this dataset (plus the item itself, its own top match, which HNSW may miss),
// then re-scored in float64 (index scores are (1 + cos) / 2 and
// possibly quantised) and cut to $knn_k exactly as in similar_exact.
UNWIND $sources AS source
MATCH (i:Item {dataset: $dataset, id: source}) WHERE i.embedding IS NOT NULL
CALL (i) {
  CALL (i) {
    CALL db.index.vector.queryNodes($index, $fetch, i.embedding) YIELD node AS j, score
    WITH j, score WHERE j.dataset = $dataset
    RETURN j, score
    UNION ALL
    RETURN i AS j, 1.0 AS score
  }
  WITH i, j, max(score) AS score
  ORDER BY score DESC, j.id ASC
  LIMIT $candidates
  WITH j, i.embedding AS q, j.embedding AS e
  WITH j, q, e, range(0, size(q) - 1) AS dims
  WITH j, reduce(s = 0.0, d IN dims | s + q[d] * e[d])
          / sqrt(reduce(s = 0.0, d IN dims | s + q[d] * q[d])
                 * reduce(s = 0.0, d IN dims | s + e[d] * e[d])) AS cosine
  ORDER BY cosine DESC, j.id ASC
  LIMIT $knn_k
  RETURN collect({target: j.id, cosine: cosine}) AS neighbours
}
RETURN i.id AS source, neighbours
