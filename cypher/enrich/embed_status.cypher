// How many items and users of the dataset have no text to encode.
RETURN COUNT { MATCH (i:Item {dataset: $dataset}) } AS items,
       COUNT { MATCH (i:Item {dataset: $dataset}) WHERE i.text IS NULL OR trim(i.text) = '' } AS items_without_text,
       COUNT { MATCH (u:User {dataset: $dataset}) } AS users,
       COUNT { MATCH (u:User {dataset: $dataset}) WHERE u.preference IS NULL OR trim(u.preference) = '' } AS users_without_text
