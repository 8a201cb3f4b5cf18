// row.text holds the item's metadata fields when the source described the item: a null
// there removes the field (SET += drops null properties). An item the source only names in
// its interactions (no items file, or no row in it) has an empty row.text, so the text
// already stored on it is kept. row.cold is true for an item held out by the cold-start
// protocol, null (absent) otherwise.
UNWIND $rows AS row
MERGE (i:Item {dataset: $dataset, id: row.id})
SET i += row.text,
    i.cold = row.cold
