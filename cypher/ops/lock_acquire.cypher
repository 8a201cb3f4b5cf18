// Take the dataset's lock if it is free, expired or already ours, atomically: the first SET
// takes the node's write lock, so the check below reads the latest committed owner (a
// concurrent taker waits here and then sees our owner).
MERGE (l:Lock {dataset: $dataset})
SET l.claiming = true
WITH l, coalesce(l.owner = $owner, false) AS ours,
     (l.owner IS NULL OR l.expires_at < datetime()) AS free
SET l.acquired_at = CASE WHEN free THEN datetime() ELSE l.acquired_at END,
    l.owner = CASE WHEN free OR ours THEN $owner ELSE l.owner END,
    l.purpose = CASE WHEN free OR ours THEN $purpose ELSE l.purpose END,
    l.expires_at = CASE WHEN free OR ours THEN datetime() + duration({seconds: $ttl})
                        ELSE l.expires_at END
REMOVE l.claiming
RETURN free OR ours AS acquired, l.owner AS owner, l.purpose AS purpose,
       toString(l.acquired_at) AS acquired_at, toString(l.expires_at) AS expires_at
