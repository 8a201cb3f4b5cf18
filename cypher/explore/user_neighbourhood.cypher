// A user's neighbourhood as a graph: the user, their latest training items, the serving run's top-k recommendations and the CO_OCCURS / SIMILAR edges of the active build between those items (why each one is recommended, as a picture).
// view: graph
// :param dataset => "ml-100k"
// :param user => "1"
// :param history => 12
// :param k => 8
MATCH (d:Dataset {name: $dataset})
MATCH (build:GraphBuild {dataset: $dataset, status: 'ok', active: true})
MATCH (u:User {dataset: $dataset, id: $user})
CALL (u) {
  MATCH (u)-[x:INTERACTED {split: 0}]->(h:Item)
  WITH x, h ORDER BY x.ts DESC, h.id LIMIT toInteger($history)
  RETURN collect(x) AS trained, collect(h) AS history
}
CALL (d, u) {
  MATCH (i:Item {dataset: $dataset})
  WHERE i.id IS NOT NULL AND i.rec_run = d.serving_run AND NOT EXISTS { (u)-[:INTERACTED]->(i) }
  // Rank by the MIPS key (Euclidean order to [h_u, 0] = dot-product order, computed
  // natively), then order the leaders by their exact dot product.
  WITH u, i ORDER BY vector.similarity.euclidean(u.rec_vector + [0.0], i.rec_key) DESC, i.id
  LIMIT toInteger($k) + 20
  WITH i, reduce(s = 0.0, j IN range(0, size(u.rec_vector) - 1) | s + u.rec_vector[j] * i.rec_vector[j]) AS score
  ORDER BY score DESC, i.id LIMIT toInteger($k)
  RETURN collect(i) AS recommended
}
CALL (build, history, recommended) {
  UNWIND recommended AS r
  MATCH (r)-[e:CO_OCCURS|SIMILAR]-(o:Item)
  WHERE e.build = build.id AND o <> r AND (o IN history OR o IN recommended)
  RETURN collect(DISTINCT e) AS links
}
RETURN u, trained, history, recommended, links
