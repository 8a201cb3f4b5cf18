// Text fields that are null in the source are removed from the node (SET x = null); row.cold
// is true for an item held out by the cold-start protocol, null (absent) otherwise.
UNWIND $rows AS row
MERGE (i:Item {dataset: $dataset, id: row.id})
SET i.title = row.title,
    i.brand = row.brand,
    i.category = row.category,
    i.description = row.description,
    i.image = row.image,
    i.cold = row.cold
