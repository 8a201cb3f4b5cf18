// Users whose preference text was built from every split (profile-users --history-scope all,
// the published protocol's leak): `status` flags the dataset when there are any.
RETURN COUNT { MATCH (u:User {dataset: $dataset}) WHERE u.preference_scope = 'all' } AS users
