// row.cold is true for a user held out by the cold-start protocol, null (absent) otherwise.
UNWIND $rows AS row
MERGE (u:User {dataset: $dataset, id: row.id})
SET u.cold = row.cold
