// Split labels already stored, so an incremental ingest keeps them (ingest.existing_splits).
MATCH (u:User {dataset: $dataset})-[x:INTERACTED]->(i:Item)
RETURN u.id AS user_id, i.id AS item_id, x.split AS split
