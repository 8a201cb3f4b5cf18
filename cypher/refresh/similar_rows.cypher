// The current SIMILAR row (target, cosine) of each item in $sources in build $build.
UNWIND $sources AS source
MATCH (i:Item {dataset: $dataset, id: source})
OPTIONAL MATCH (i)-[r:SIMILAR]->(j:Item)
WHERE r.build = $build
RETURN i.id AS source, collect({target: j.id, cosine: r.cosine}) AS neighbours
