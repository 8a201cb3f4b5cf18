// A new item served from text by `refresh` as a graph (any item works): the text neighbours its vector is propagated from (its SIMILAR row in the active build, cosine on the edges) and the existing items whose row it entered (SIMILAR edges into it), `recommend` marks such items "new: from text".
// view: graph
// :param dataset => "ml-100k"
// :param item => "50"
// :param limit => 10
MATCH (build:GraphBuild {dataset: $dataset, status: 'ok', active: true})
MATCH (i:Item {dataset: $dataset, id: $item})
CALL (build, i) {
  MATCH (i)-[e:SIMILAR]->(n:Item)
  WHERE e.build = build.id AND n <> i
  RETURN e, n ORDER BY e.cosine DESC, n.id LIMIT toInteger($limit)
  UNION
  MATCH (i)<-[e:SIMILAR]-(n:Item)
  WHERE e.build = build.id AND n <> i
  RETURN e, n ORDER BY e.cosine DESC, n.id LIMIT toInteger($limit)
}
RETURN i, collect(e) AS edges, collect(DISTINCT n) AS neighbours
