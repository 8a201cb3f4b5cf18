// The item-item graph G = G_s + G_c of one build, one row per source item (docs/method.md
// section 5): a SIMILAR edge weighs 1 (binary semantic kNN), a CO_OCCURS edge its Jaccard
// index; a pair in both keeps both rows and the caller sums them (1 + Jaccard).
MATCH (a:Item {dataset: $dataset})-[r:SIMILAR|CO_OCCURS]->(b:Item)
WHERE r.build = $build
RETURN a.id AS src,
       collect(b.id) AS dst,
       collect(CASE type(r) WHEN 'SIMILAR' THEN 1.0 ELSE toFloat(r.jaccard) END) AS weight
