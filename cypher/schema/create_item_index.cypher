// Cosine vector index over item text vectors (shared by all datasets; one dimension). Not
// quantised: the approximate semantic kNN reads cosines from its scores (graph/similar_approximate).
CREATE VECTOR INDEX item_embedding IF NOT EXISTS
FOR (i:Item) ON i.embedding
OPTIONS {indexConfig: {`vector.dimensions`: $dimensions, `vector.similarity_function`: 'cosine',
                       `vector.quantization.enabled`: false}}
