// An item's neighbourhood in the active build as a graph: its strongest CO_OCCURS (Jaccard) and SIMILAR (cosine) neighbours, and with hops => 2 the strongest neighbours of those.
// view: graph
// :param dataset => "ml-100k"
// :param item => "50"
// :param limit => 10
// :param hops => 1
// :param fanout => 3
MATCH (build:GraphBuild {dataset: $dataset, status: 'ok', active: true})
MATCH (i:Item {dataset: $dataset, id: $item})
CALL (build, i) {
  UNWIND ['CO_OCCURS', 'SIMILAR'] AS kind
  CALL (build, i, kind) {
    MATCH (i)-[e:CO_OCCURS|SIMILAR]-(n:Item)
    WHERE e.build = build.id AND type(e) = kind AND n <> i
    RETURN e, n ORDER BY coalesce(e.jaccard, e.cosine) DESC, n.id LIMIT toInteger($limit)
  }
  RETURN collect(e) AS edges, collect(DISTINCT n) AS neighbours
}
CALL (build, i, neighbours) {
  UNWIND CASE WHEN toInteger($hops) >= 2 THEN neighbours ELSE [] END AS n
  UNWIND ['CO_OCCURS', 'SIMILAR'] AS kind
  CALL (build, i, n, kind) {
    MATCH (n)-[e:CO_OCCURS|SIMILAR]-(m:Item)
    WHERE e.build = build.id AND type(e) = kind AND m <> i AND m <> n
    RETURN e, m ORDER BY coalesce(e.jaccard, e.cosine) DESC, m.id LIMIT toInteger($fanout)
  }
  RETURN collect(e) AS second_edges, collect(DISTINCT m) AS second_neighbours
}
RETURN i, edges, neighbours, second_edges, second_neighbours
