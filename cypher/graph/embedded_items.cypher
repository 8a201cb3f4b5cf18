// Ids of the dataset's items that have an embedding (the semantic graph's sources), the
// dataset's item count, the embedding dimensions found (one is expected; each with an
// example item for the error message), and how many items of all datasets have an embedding
// (the shared vector index's population).
MATCH (i:Item {dataset: $dataset})
WITH size(i.embedding) AS dimension, collect(i.id) AS ids
WITH collect({dimension: dimension, ids: ids}) AS groups
RETURN reduce(acc = [], g IN groups | acc + CASE WHEN g.dimension IS NULL THEN [] ELSE g.ids END) AS ids,
       reduce(n = 0, g IN groups | n + size(g.ids)) AS items,
       [g IN groups WHERE g.dimension IS NOT NULL |
        {dimension: g.dimension, items: size(g.ids), example: g.ids[0]}] AS dimensions,
       COUNT { MATCH (j:Item) WHERE j.embedding IS NOT NULL } AS indexed
