// Create or update the dataset node; marks the ingest as in progress until finish_dataset.
MERGE (d:Dataset {name: $dataset})
ON CREATE SET d.created_at = datetime()
SET d.domain = $domain,
    d.source = $source,
    d.format = $format,
    d.status = 'ingesting',
    d.ingest_started_at = datetime()
