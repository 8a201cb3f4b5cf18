// Items of the dataset with no edge of the build in either direction (of any type).
MATCH (i:Item {dataset: $dataset})
WHERE NOT EXISTS { (i)-[r:CO_OCCURS|SIMILAR]-() WHERE r.build = $build }
RETURN count(i) AS isolated
