// Items and users the serving run serves from text (`refresh` since the run was promoted:
// rec_inductive), and the existing items whose SIMILAR row gained a new item in those refreshes
// (summed from the StageRun counts of refreshes of this serving run).
MATCH (d:Dataset {name: $dataset})
RETURN COUNT { MATCH (i:Item {dataset: $dataset}) WHERE i.rec_inductive AND i.rec_run = d.serving_run } AS items,
       COUNT { MATCH (u:User {dataset: $dataset}) WHERE u.rec_inductive AND u.rec_run = d.serving_run } AS users,
       COLLECT { MATCH (s:StageRun {dataset: $dataset, stage: 'refresh', status: 'ok'})
                 WHERE s.params CONTAINS d.serving_run
                 RETURN s.counts } AS refreshes
