// The dataset's lock, if any, and whether it is still live.
MATCH (l:Lock {dataset: $dataset})
RETURN l.owner AS owner, l.purpose AS purpose, toString(l.acquired_at) AS acquired_at,
       toString(l.expires_at) AS expires_at, l.expires_at >= datetime() AS live
