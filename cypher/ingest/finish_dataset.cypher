MATCH (d:Dataset {name: $dataset})
SET d.status = 'ready',
    d.ingested_at = datetime(),
    d.ingest_params = $params,
    d.n_users = COUNT { MATCH (u:User {dataset: $dataset}) },
    d.n_items = COUNT { MATCH (i:Item {dataset: $dataset}) },
    d.n_interactions = COUNT { MATCH (:User {dataset: $dataset})-[:INTERACTED]->() }
RETURN d.n_users AS users, d.n_items AS items, d.n_interactions AS interactions
