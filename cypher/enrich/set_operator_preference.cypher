// A preference text given by the operator for one user (`profile-users --user ID --text ...`),
// e.g. a new user without training interactions. preference_scope 'operator' keeps it from the
// profile stage, which neither rewrites nor clears it; `embed` encodes it like any other text.
// No row when the user is not in the dataset.
MATCH (u:User {dataset: $dataset, id: $id})
SET u.preference = $preference,
    u.preference_hash = $preference_hash,
    u.preference_scope = 'operator',
    u.preference_model = 'operator',
    u.preference_prompt = null,
    u.history_hash = null,
    u.profiled_at = datetime()
RETURN u.id AS id
