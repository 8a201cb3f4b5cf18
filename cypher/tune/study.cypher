// One tuning study with its properties.
MATCH (s:TuningStudy {id: $id})
RETURN properties(s) AS props
