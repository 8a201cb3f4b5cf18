// The paths behind one recommendation as a graph: user -> training item -> CO_OCCURS / SIMILAR edge of the active build -> the item, strongest links first.
// view: graph
// :param dataset => "ml-100k"
// :param user => "1"
// :param item => "50"
// :param limit => 10
MATCH (build:GraphBuild {dataset: $dataset, status: 'ok', active: true})
MATCH (u:User {dataset: $dataset, id: $user})
MATCH (i:Item {dataset: $dataset, id: $item})
OPTIONAL CALL (build, u, i) {
  MATCH path = (u)-[:INTERACTED {split: 0}]->(h:Item)-[e:CO_OCCURS|SIMILAR]-(i)
  WHERE e.build = build.id AND h <> i
  RETURN path ORDER BY coalesce(e.cosine, 0) + coalesce(e.jaccard, 0) DESC, h.id
  LIMIT toInteger($limit)
}
RETURN u, i, path
