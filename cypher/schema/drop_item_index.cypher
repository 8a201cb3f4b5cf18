// Drop the item text vector index (shared by all datasets), so that it can be created again
// and populated in one pass: see graph.rebuild_index.
DROP INDEX item_embedding IF EXISTS
