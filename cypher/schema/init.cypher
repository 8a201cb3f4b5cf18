// Schema of every dataset in the database. Datasets share one database (Community has a
// single user database): every node carries `dataset`, and keys are (dataset, id).
CREATE CONSTRAINT dataset_name IF NOT EXISTS FOR (d:Dataset) REQUIRE d.name IS UNIQUE;
CREATE CONSTRAINT user_key IF NOT EXISTS FOR (u:User) REQUIRE (u.dataset, u.id) IS UNIQUE;
CREATE CONSTRAINT item_key IF NOT EXISTS FOR (i:Item) REQUIRE (i.dataset, i.id) IS UNIQUE;
// No single-property (dataset) indexes on User/Item: with them the planner answers
// `MATCH (u:User {dataset: $d, id: row.id})` by seeking every node of the dataset and
// filtering on id (O(n) per row, measured 57M db hits for 34k rows). Whole-dataset scans
// use the label index instead. Older databases get them removed here.
DROP INDEX user_dataset IF EXISTS;
DROP INDEX item_dataset IF EXISTS;
CREATE INDEX interacted_split IF NOT EXISTS FOR ()-[r:INTERACTED]-() ON (r.split);
CREATE CONSTRAINT stage_run_id IF NOT EXISTS FOR (s:StageRun) REQUIRE s.id IS UNIQUE;
CREATE INDEX stage_run_lookup IF NOT EXISTS FOR (s:StageRun) ON (s.dataset, s.stage);
CREATE CONSTRAINT graph_build_id IF NOT EXISTS FOR (g:GraphBuild) REQUIRE g.id IS UNIQUE;
// The active build is found by dataset (cypher/graph/active_build), not by a label scan.
CREATE INDEX graph_build_dataset IF NOT EXISTS FOR (g:GraphBuild) ON (g.dataset, g.active);
CREATE CONSTRAINT training_run_id IF NOT EXISTS FOR (r:TrainingRun) REQUIRE r.id IS UNIQUE;
CREATE INDEX training_run_dataset IF NOT EXISTS FOR (r:TrainingRun) ON (r.dataset);
CREATE CONSTRAINT tuning_study_id IF NOT EXISTS FOR (s:TuningStudy) REQUIRE s.id IS UNIQUE
