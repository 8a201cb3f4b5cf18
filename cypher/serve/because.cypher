// For each recommended item, the user's item most strongly connected to it in the item-item
// graph of the build (SIMILAR counts 1, CO_OCCURS its Jaccard, either direction).
MATCH (u:User {dataset: $dataset, id: $user})
UNWIND $items AS item_id
MATCH (i:Item {dataset: $dataset, id: item_id})
OPTIONAL CALL (u, i) {
  MATCH (u)-[:INTERACTED]->(h:Item)-[r:CO_OCCURS|SIMILAR]-(i)
  WHERE r.build = $build
  WITH h, sum(CASE type(r) WHEN 'SIMILAR' THEN 1.0 ELSE r.jaccard END) AS strength,
       max(r.jaccard) AS jaccard, max(r.cosine) AS cosine
  ORDER BY strength DESC, h.id
  LIMIT 1
  RETURN h.id AS via_id, h.title AS via_title, jaccard, cosine
}
RETURN item_id, via_id, via_title, jaccard, cosine
