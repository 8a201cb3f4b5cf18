UNWIND $rows AS row
MERGE (u:User {dataset: $dataset, id: row.id})
