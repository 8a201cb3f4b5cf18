// The dimension of the shared learned-vector index item_rec_key (MIPS keys: a run's
// dimension + 1), when it exists.
SHOW VECTOR INDEXES YIELD name, options
WHERE name = 'item_rec_key'
RETURN options.indexConfig.`vector.dimensions` AS dimensions
