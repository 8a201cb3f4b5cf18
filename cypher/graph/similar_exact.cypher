// Exact semantic kNN (docs/method.md section 5) for a batch of source items ($sources, ids):
// every item of the dataset with an embedding is scored against each source (brute force).
// vector.similarity.cosine scores in float32 and returns (1 + cos) / 2; it only ranks
// candidates: the top $candidates (knn_k plus a margin far wider than float32 noise) are
// re-scored in float64 as dot / (|q| |e|), re-ranked (cosine desc, id asc) and cut to
// $knn_k. The item itself is a candidate (its own top match). Read-only: returns the
// top-k before the threshold; the caller keeps cosine >= pure and writes them.
MATCH (j:Item {dataset: $dataset}) WHERE j.embedding IS NOT NULL
WITH collect(j.embedding) AS vectors, collect(j.id) AS ids
UNWIND $sources AS source
MATCH (i:Item {dataset: $dataset, id: source}) WHERE i.embedding IS NOT NULL
CALL (i, vectors, ids) {
  WITH i.embedding AS q
  UNWIND range(0, size(ids) - 1) AS x
  WITH q, x, vector.similarity.cosine(q, vectors[x]) AS score
  ORDER BY score DESC, ids[x] ASC
  LIMIT $candidates
  WITH q, range(0, size(q) - 1) AS dims, collect(x) AS candidates
  WITH dims, q, candidates, sqrt(reduce(s = 0.0, d IN dims | s + q[d] * q[d])) AS norm_q
  UNWIND candidates AS x
  WITH x, dims, q, norm_q, vectors[x] AS e
  WITH x, reduce(s = 0.0, d IN dims | s + q[d] * e[d])
          / (norm_q * sqrt(reduce(s = 0.0, d IN dims | s + e[d] * e[d]))) AS cosine
  ORDER BY cosine DESC, ids[x] ASC
  LIMIT $knn_k
  RETURN collect({target: ids[x], cosine: cosine}) AS neighbours
}
RETURN i.id AS source, neighbours
