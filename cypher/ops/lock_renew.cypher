// Push the expiry of a lock we still own; no row back means we lost it (it expired and was taken).
MATCH (l:Lock {dataset: $dataset, owner: $owner})
SET l.expires_at = datetime() + duration({seconds: $ttl})
RETURN toString(l.expires_at) AS expires_at
