// Why an item is recommended to a user: its score in the serving run and the user's training items linked to it in the active graph build (SIMILAR: text neighbours, CO_OCCURS: shared audiences), as a table.
// :param dataset => "ml-100k"
// :param user => "1"
// :param item => "50"
MATCH (d:Dataset {name: $dataset})
MATCH (build:GraphBuild {dataset: $dataset, status: 'ok', active: true})
MATCH (u:User {dataset: $dataset, id: $user})
MATCH (i:Item {dataset: $dataset, id: $item})
WHERE i.rec_run = d.serving_run
WITH build, u, i, reduce(s = 0.0, j IN range(0, size(u.rec_vector) - 1) | s + u.rec_vector[j] * i.rec_vector[j]) AS score
OPTIONAL MATCH (u)-[x:INTERACTED {split: 0}]->(h:Item)-[r:CO_OCCURS|SIMILAR]-(i)
WHERE r.build = build.id
WITH i, score, h, x, max(r.cosine) AS cosine, max(r.jaccard) AS jaccard
RETURN i.title AS item, score, h.id AS because_of, h.title AS because_title, x.rating AS rating,
       cosine AS similar_cosine, jaccard AS co_occurs_jaccard
ORDER BY coalesce(cosine, 0) + coalesce(jaccard, 0) DESC, because_of
