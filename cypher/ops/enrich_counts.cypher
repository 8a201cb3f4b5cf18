// How far enrichment and graph building got: nodes with texts, embeddings and the item-item
// edges of the active build (a tuning study's side builds keep theirs beside it).
OPTIONAL MATCH (build:GraphBuild {dataset: $dataset, status: 'ok', active: true})
RETURN COUNT { MATCH (i:Item {dataset: $dataset}) WHERE i.image_description IS NOT NULL } AS items_with_image_description,
       COUNT { MATCH (i:Item {dataset: $dataset}) WHERE i.text IS NOT NULL } AS items_with_text,
       COUNT { MATCH (u:User {dataset: $dataset}) WHERE u.preference IS NOT NULL } AS users_with_preference,
       COUNT { MATCH (i:Item {dataset: $dataset}) WHERE i.embedding IS NOT NULL } AS items_embedded,
       COUNT { MATCH (u:User {dataset: $dataset}) WHERE u.embedding IS NOT NULL } AS users_embedded,
       COUNT { MATCH (:Item {dataset: $dataset})-[r:CO_OCCURS]->() WHERE r.build = build.id } AS co_occurs_edges,
       COUNT { MATCH (:Item {dataset: $dataset})-[r:SIMILAR]->() WHERE r.build = build.id } AS similar_edges
