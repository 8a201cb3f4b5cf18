"""Operating mllmrec: the one-command pipeline with change detection (:mod:`.pipeline`,
:mod:`.stages`), incremental retraining under a Neo4j lock (:mod:`.retrain`, :mod:`.lock`),
its scheduler (:mod:`.scheduler`), ``status`` (:mod:`.status`) and the Browser queries of
``cypher/explore`` (:mod:`.explore`)."""
