// Forget a bench dataset's item text vectors, so the embed stage encodes every item again
// (bench/enrich.py repeats the stage to measure it warm).
MATCH (i:Item {dataset: $dataset})
REMOVE i.embedding, i.embedding_hash
