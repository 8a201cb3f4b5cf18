// Approximate semantic kNN for a batch of source items ($sources, ids) through the HNSW
// vector index $index: $fetch nearest nodes are asked for (the index spans every dataset,
// so the caller scales $fetch by the index's share of other datasets' items). The cosine is
// read from the index score, (1 + cos) / 2 for a cosine index, as 2 * score - 1 (float32
// precision; no re-scoring). The item itself is put first with cosine 1 (its own top match,
// which HNSW may miss), followed by the best $knn_k - 1 others of this dataset (cosine desc,
// id asc). Read-only: the caller applies the threshold and writes.
UNWIND $sources AS source
MATCH (i:Item {dataset: $dataset, id: source}) WHERE i.embedding IS NOT NULL
CALL (i) {
  CALL db.index.vector.queryNodes($index, $fetch, i.embedding) YIELD node AS j, score
  WITH j, 2.0 * score - 1.0 AS cosine
  WHERE j.dataset = $dataset AND j <> i
  ORDER BY cosine DESC, j.id ASC
  LIMIT $knn_k - 1
  RETURN collect({target: j.id, cosine: cosine}) AS others
}
RETURN i.id AS source, [{target: i.id, cosine: 1.0}] + others AS neighbours
