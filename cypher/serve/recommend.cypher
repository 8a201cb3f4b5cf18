// Everything `recommend` needs in ONE round trip: the dataset's serving run, the item-item
// build to explain with (the dataset's active build), whether the user
// exists and has a vector of that run, and the top $k unseen items with their "because".
// Candidates: with $exact false, the $widen * (2 (k + |seen|) + 50) nearest MIPS keys of the
// vector index item_rec_key (queried with [h_u, 0], Euclidean order = dot-product order; the index spans
// every dataset and returns seen items too, so it is over-fetched and filtered); with $exact
// true, every item of the dataset's serving run. The best $k + $margin candidates by that rank
// are rescored by the exact dot product h_u . h_i, re-ordered (score desc, id asc) and cut to
// $k. "Because": the user's item most strongly connected to the recommended item in the build
// (SIMILAR counts 1, CO_OCCURS its Jaccard, either direction). `inductive` / `user_inductive`
// mark vectors `refresh` computed from text for nodes the serving run was not trained on.
MATCH (d:Dataset {name: $dataset})
OPTIONAL MATCH (u:User {dataset: $dataset, id: $user})
OPTIONAL MATCH (build:GraphBuild {dataset: $dataset, status: 'ok', active: true})
WITH d, u, build.id AS build,
     u IS NOT NULL AND d.serving_run IS NOT NULL AND u.rec_run = d.serving_run AS has_vector
OPTIONAL CALL (d, u, build, has_vector) {
  WITH d, u, build WHERE has_vector
  // the user's items, read once (never an existence check per candidate from popular items)
  WITH d, u, build, COLLECT { MATCH (u)-[:INTERACTED]->(s:Item) RETURN DISTINCT s } AS seen
  CALL (d, u, seen) {
    WITH d, u, seen WHERE NOT $exact
    WITH d, u, seen, $widen * (2 * ($k + size(seen)) + 50) AS fetch
    CALL db.index.vector.queryNodes('item_rec_key', fetch, u.rec_vector + [0.0]) YIELD node AS i, score
    WITH d, seen, i, score
    WHERE i.dataset = d.name AND i.rec_run = d.serving_run AND NOT i IN seen
    RETURN i, score AS rank
    UNION
    WITH d, u, seen WHERE $exact
    MATCH (i:Item {dataset: d.name})
    WHERE i.rec_run = d.serving_run AND NOT i IN seen
    RETURN i, reduce(s = 0.0, x IN range(0, size(u.rec_vector) - 1) | s + u.rec_vector[x] * i.rec_vector[x]) AS rank
  }
  WITH u, build, i, rank
  ORDER BY rank DESC, i.id
  LIMIT $k + $margin
  WITH u, build, i, reduce(s = 0.0, x IN range(0, size(u.rec_vector) - 1) | s + u.rec_vector[x] * i.rec_vector[x]) AS score
  ORDER BY score DESC, i.id
  LIMIT $k
  OPTIONAL CALL (u, i, build) {
    MATCH (u)-[:INTERACTED]->(h:Item)-[e:CO_OCCURS|SIMILAR]-(i)
    WHERE e.build = build
    WITH h, sum(CASE type(e) WHEN 'SIMILAR' THEN 1.0 ELSE e.jaccard END) AS strength,
         max(e.jaccard) AS jaccard, max(e.cosine) AS cosine
    ORDER BY strength DESC, h.id
    LIMIT 1
    RETURN {via_id: h.id, via_title: h.title, jaccard: jaccard, cosine: cosine} AS why
  }
  RETURN collect({id: i.id, title: i.title, score: score, why: why,
                  inductive: coalesce(i.rec_inductive, false)}) AS found
}
RETURN d.serving_run AS run, u IS NOT NULL AS user_found, has_vector, found,
       coalesce(u.rec_inductive, false) AS user_inductive
