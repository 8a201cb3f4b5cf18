// An item's co-occurrence neighbours (Jaccard of training audiences) and semantic neighbours (text-embedding cosine) in the latest graph build.
// :param dataset => "ml-100k"
// :param item => "1"
CALL () {
  MATCH (g:GraphBuild {dataset: $dataset})
  RETURN g.id AS build ORDER BY coalesce(g.finished_at, g.created_at, g.started_at) DESC, g.id DESC LIMIT 1
}
MATCH (i:Item {dataset: $dataset, id: $item})-[r:CO_OCCURS|SIMILAR]->(n:Item)
WHERE r.build = build
RETURN i.title AS item, type(r) AS relation, n.id AS neighbour, n.title AS neighbour_title,
       CASE type(r) WHEN 'CO_OCCURS' THEN r.jaccard ELSE r.cosine END AS weight
ORDER BY relation, weight DESC, neighbour
