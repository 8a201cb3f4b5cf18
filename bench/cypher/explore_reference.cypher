// The explore benchmark's reference round trip: one user looked up by its key.
MATCH (u:User {dataset: $dataset, id: $user})
RETURN u.id AS id
