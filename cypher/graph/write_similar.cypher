// Writes semantic edges: one row per kept (source, target, cosine); self-loops included.
UNWIND $rows AS row
MATCH (i:Item {dataset: $dataset, id: row.source})
MATCH (j:Item {dataset: $dataset, id: row.target})
CREATE (i)-[:SIMILAR {cosine: row.cosine, build: $build}]->(j)
