// Names of every dataset in the database (status lists them all when none is named).
MATCH (d:Dataset) RETURN d.name AS name ORDER BY name
