// Create or update the dataset node; marks the ingest as in progress until finish_dataset.
// $cold is the cold-start protocol ({cold_items, cold_users, cold_given, cold_seed}) or {}
// for the warm split: absent keys remove the properties.
MERGE (d:Dataset {name: $dataset})
ON CREATE SET d.created_at = datetime()
SET d.domain = $domain,
    d.source = $source,
    d.format = $format,
    d.status = 'ingesting',
    d.ingest_started_at = datetime(),
    d.cold_items = $cold.cold_items,
    d.cold_users = $cold.cold_users,
    d.cold_given = $cold.cold_given,
    d.cold_seed = $cold.cold_seed
