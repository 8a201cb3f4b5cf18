// Inputs of 'embed': the texts that are encoded, item fused texts and user preferences.
CALL () {
  MATCH (i:Item {dataset: $dataset})
  RETURN 'item' AS kind, i.id AS id, i.text AS text
  UNION ALL
  MATCH (u:User {dataset: $dataset})
  RETURN 'user' AS kind, u.id AS id, u.preference AS text
}
WITH kind, id, text ORDER BY kind, id
RETURN collect([kind, id, text]) AS texts
