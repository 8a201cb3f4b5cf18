"""``mllmrec tune``: hyperparameter search with Optuna, chosen on validation, served only when
better (docs/tune.md).

- :mod:`.space`: which setting each tunable name sets, when it applies, drawing a trial;
- :mod:`.study`: storage, the study (create / resume / refuse), the trial objective, the loop;
- :mod:`.node`: the ``(:TuningStudy)`` node and its trial links in Neo4j;
- :mod:`.winner`: the winner's test metrics (once, after the study), ``--serve``,
  ``retrain --from-study``;
- :mod:`.report`: the trials table and the PNGs of ``--report``.
"""
