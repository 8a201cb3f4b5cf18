// The cold-start protocol a dataset was split with (ingest.cold_protocol), null when warm.
MATCH (d:Dataset {name: $dataset})
RETURN CASE WHEN d.cold_items IS NULL THEN null
       ELSE {cold_items: d.cold_items, cold_users: d.cold_users, cold_given: d.cold_given,
             cold_seed: d.cold_seed} END AS protocol
