// Users left without training interactions lose their preference text and its vector:
// a text built from items that are now held out must not stay a feature.
UNWIND $ids AS id
MATCH (u:User {dataset: $dataset, id: id})
REMOVE u.preference, u.preference_hash, u.history_hash, u.preference_model,
       u.preference_prompt, u.preference_scope, u.profiled_at, u.embedding, u.embedding_hash
