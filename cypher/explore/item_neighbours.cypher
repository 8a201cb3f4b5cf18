// An item's co-occurrence neighbours (Jaccard of training audiences) and semantic neighbours (text-embedding cosine) in the active graph build, as a table.
// :param dataset => "ml-100k"
// :param item => "50"
MATCH (build:GraphBuild {dataset: $dataset, status: 'ok', active: true})
MATCH (i:Item {dataset: $dataset, id: $item})-[r:CO_OCCURS|SIMILAR]->(n:Item)
WHERE r.build = build.id
RETURN i.title AS item, type(r) AS relation, n.id AS neighbour, n.title AS neighbour_title,
       CASE type(r) WHEN 'CO_OCCURS' THEN r.jaccard ELSE r.cosine END AS weight
ORDER BY relation, weight DESC, neighbour
