// The items and users the dataset's serving run serves from text (`refresh`, rec_inductive),
// and how many of either still have no vector of that run: what the paper-scale bench checks
// a refresh wrote.
MATCH (d:Dataset {name: $dataset})
RETURN COLLECT { MATCH (i:Item {dataset: $dataset})
                 WHERE i.rec_run = d.serving_run AND i.rec_inductive RETURN i.id } AS items,
       COLLECT { MATCH (u:User {dataset: $dataset})
                 WHERE u.rec_run = d.serving_run AND u.rec_inductive RETURN u.id } AS users,
       COUNT { MATCH (i:Item {dataset: $dataset})
               WHERE i.rec_run IS NULL OR i.rec_run <> d.serving_run } AS items_unserved,
       COUNT { MATCH (u:User {dataset: $dataset})
               WHERE u.rec_run IS NULL OR u.rec_run <> d.serving_run } AS users_unserved
