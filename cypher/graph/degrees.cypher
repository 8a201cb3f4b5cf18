// Out- and in-degree of every item of the dataset in one edge type of a build (items with
// no such edge count with degree 0), and the number of self-loops.
MATCH (i:Item {dataset: $dataset})
WITH i,
     COUNT { (i)-[r]->() WHERE type(r) = $type AND r.build = $build } AS out_degree,
     COUNT { (i)<-[r]-() WHERE type(r) = $type AND r.build = $build } AS in_degree,
     COUNT { (i)-[r]->(i) WHERE type(r) = $type AND r.build = $build } AS loop
RETURN collect(out_degree) AS out_degrees, collect(in_degree) AS in_degrees, sum(loop) AS loops
