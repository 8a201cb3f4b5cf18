// Vector indexes over the learned vectors of the serving run. Scores are dot products, which
// the index cannot rank directly: items are indexed by a MIPS key [h_i, sqrt(M^2 - |h_i|^2)]
// and queried with [h_u, 0], so Euclidean order = dot-product order (Bachrach et al. 2014).
CREATE VECTOR INDEX item_rec_key IF NOT EXISTS FOR (i:Item) ON (i.rec_key)
OPTIONS {indexConfig: {`vector.dimensions`: $key_dims, `vector.similarity_function`: 'euclidean',
                       `vector.quantization.enabled`: false}};
CREATE VECTOR INDEX user_rec_vector IF NOT EXISTS FOR (u:User) ON (u.rec_vector)
OPTIONS {indexConfig: {`vector.dimensions`: $dims, `vector.similarity_function`: 'cosine',
                       `vector.quantization.enabled`: false}};
