// Take over a lock whose holder is known to be gone (its process no longer runs on this
// host), only if that holder still owns it: the first SET takes the node's write lock, so the
// owner compared below is the latest committed one (two takers cannot both succeed).
MATCH (l:Lock {dataset: $dataset})
SET l.claiming = true
WITH l, l.owner = $stale AS still_stale
SET l.owner = CASE WHEN still_stale THEN $owner ELSE l.owner END,
    l.purpose = CASE WHEN still_stale THEN $purpose ELSE l.purpose END,
    l.acquired_at = CASE WHEN still_stale THEN datetime() ELSE l.acquired_at END,
    l.expires_at = CASE WHEN still_stale THEN datetime() + duration({seconds: $ttl})
                        ELSE l.expires_at END
REMOVE l.claiming
RETURN still_stale AS acquired, l.owner AS owner, l.purpose AS purpose,
       toString(l.acquired_at) AS acquired_at, toString(l.expires_at) AS expires_at
