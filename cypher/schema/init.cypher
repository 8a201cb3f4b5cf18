// Schema of every dataset in the database. Datasets share one database (Community has a
// single user database): every node carries `dataset`, and keys are (dataset, id).
CREATE CONSTRAINT dataset_name IF NOT EXISTS FOR (d:Dataset) REQUIRE d.name IS UNIQUE;
CREATE CONSTRAINT user_key IF NOT EXISTS FOR (u:User) REQUIRE (u.dataset, u.id) IS UNIQUE;
CREATE CONSTRAINT item_key IF NOT EXISTS FOR (i:Item) REQUIRE (i.dataset, i.id) IS UNIQUE;
CREATE INDEX user_dataset IF NOT EXISTS FOR (u:User) ON (u.dataset);
CREATE INDEX item_dataset IF NOT EXISTS FOR (i:Item) ON (i.dataset);
CREATE INDEX interacted_split IF NOT EXISTS FOR ()-[r:INTERACTED]-() ON (r.split);
CREATE CONSTRAINT stage_run_id IF NOT EXISTS FOR (s:StageRun) REQUIRE s.id IS UNIQUE;
CREATE INDEX stage_run_lookup IF NOT EXISTS FOR (s:StageRun) ON (s.dataset, s.stage);
CREATE CONSTRAINT graph_build_id IF NOT EXISTS FOR (g:GraphBuild) REQUIRE g.id IS UNIQUE;
CREATE CONSTRAINT training_run_id IF NOT EXISTS FOR (r:TrainingRun) REQUIRE r.id IS UNIQUE;
CREATE INDEX training_run_dataset IF NOT EXISTS FOR (r:TrainingRun) ON (r.dataset)
