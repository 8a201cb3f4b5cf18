"""Training, evaluation and write-back of MLLMRec and its baselines (docs/method.md sections 6-7).

- :mod:`.data` pulls features, splits and the item-item graph from Neo4j into tensors and
  DGL graphs;
- :mod:`.model` is MLLMRec and what every model is (``Recommender``, ``ModelNeeds``),
  :mod:`.baselines` BPR-MF and LightGCN, :mod:`.hybrid` MLLMRec's towers plus LightGCN ID
  embeddings, :mod:`.registry` the one map from ``train.model`` names to them;
- :mod:`.bpr` draws BPR triples and has the loss, :mod:`.neighbour_sampling` trains on
  sampled user-item blocks, :mod:`.metrics` ranks and scores;
- :mod:`.trainer` is the loop (``fit``), :mod:`.job` the whole run (``train_model``),
  :mod:`.checkpoint` the run folder and warm start, :mod:`.record` what a run leaves behind
  (through :mod:`.writeback`, which stores vectors and runs in Neo4j; :mod:`.plots` draws the
  curve), :mod:`.determinism` seeds, threads and deterministic kernels;
- :mod:`.placement` the device check and placement, :mod:`.distributed` data parallelism.
"""
