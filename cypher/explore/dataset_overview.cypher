// A sample of the dataset as a graph: its most-interacted items, each item's strongest CO_OCCURS / SIMILAR edges of the active build to the others, and the user(s) who trained on most of them with those interactions.
// view: graph
// :param dataset => "ml-100k"
// :param items => 12
// :param per_item => 2
// :param users => 1
MATCH (build:GraphBuild {dataset: $dataset, status: 'ok', active: true})
CALL () {
  MATCH (i:Item {dataset: $dataset}) WHERE i.id IS NOT NULL
  WITH i ORDER BY COUNT { (i)<-[:INTERACTED]-() } DESC, i.id LIMIT toInteger($items)
  RETURN collect(i) AS items
}
CALL (build, items) {
  UNWIND items AS a
  CALL (build, items, a) {
    MATCH (a)-[e:CO_OCCURS|SIMILAR]->(b:Item)
    WHERE e.build = build.id AND b <> a AND b IN items
    RETURN e ORDER BY coalesce(e.jaccard, e.cosine) DESC, b.id LIMIT toInteger($per_item)
  }
  RETURN collect(e) AS links
}
CALL (items) {
  UNWIND items AS i
  MATCH (u:User)-[x:INTERACTED {split: 0}]->(i)
  WITH u, collect(x) AS trained ORDER BY size(trained) DESC, u.id LIMIT toInteger($users)
  RETURN collect(u) AS users, reduce(all = [], t IN collect(trained) | all + t) AS interactions
}
RETURN items, links, users, interactions
