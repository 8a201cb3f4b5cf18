MATCH (d:Dataset)
RETURN d.name AS name, d.domain AS domain, d.status AS status, d.format AS format,
       d.n_users AS users, d.n_items AS items, d.n_interactions AS interactions,
       toString(d.ingested_at) AS ingested_at
ORDER BY name
