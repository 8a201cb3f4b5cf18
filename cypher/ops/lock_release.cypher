// Release a lock we own (a lock taken over by someone else after expiry is left alone).
MATCH (l:Lock {dataset: $dataset, owner: $owner})
DELETE l
RETURN count(*) AS released
