// The database's clock, so stage runs are matched by server time, not the client's.
RETURN toString(datetime()) AS now
