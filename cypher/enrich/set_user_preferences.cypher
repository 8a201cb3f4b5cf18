// User preference texts (LLM paragraph, or the behavioural list with --no-llm) with provenance,
// including the interactions they were built from (preference_scope: 'train' or the leaky 'all').
UNWIND $rows AS row
MATCH (u:User {dataset: $dataset, id: row.id})
SET u.preference = row.preference,
    u.preference_hash = row.preference_hash,
    u.history_hash = row.history_hash,
    u.preference_scope = row.scope,
    u.preference_model = $model,
    u.preference_prompt = $prompt,
    u.profiled_at = datetime()
