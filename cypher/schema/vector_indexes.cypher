// The project's vector indexes with their dimension and similarity function.
SHOW VECTOR INDEXES YIELD name, state, options
WHERE name IN ['item_embedding', 'user_embedding']
RETURN name, state, options.indexConfig.`vector.dimensions` AS dimensions,
       options.indexConfig.`vector.similarity_function` AS similarity
