"""Training, evaluation and write-back of MLLMRec and its baselines (METHOD.md sections 6-7).

- :mod:`.data` pulls features, splits and the item-item graph from Neo4j into tensors and
  DGL graphs;
- :mod:`.model` is MLLMRec, :mod:`.baselines` BPR-MF and LightGCN;
- :mod:`.sampler` draws BPR triples, :mod:`.metrics` ranks and scores;
- :mod:`.trainer` runs the protocol, :mod:`.writeback` stores the vectors and the run,
  :mod:`.plots` draws the training curve.
"""
