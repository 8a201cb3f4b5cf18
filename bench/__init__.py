"""The benchmarks of mllmrec: one tool, ``python -m bench SECTION [SECTION ...]``.

Not part of the shipped package. Modules import downwards only (a unit test checks the
import graph is acyclic):

- ``__main__`` -> ``cli``: parse the options, run the sections, rebuild the report;
- sections, one module each with ``section(ctx)``: ``stages``, ``protocol`` (over ``grid``),
  ``quality``, ``ablation``, ``scaling_curve``, ``paper_scale``, ``components`` (over
  ``ingest``, ``enrich``, ``graph``), ``train_speed``, ``train_parallel``, ``cold_start``
  (over ``stages``' pipeline run), ``tune_overhead``, ``embed_paths``;
- ``report`` (with ``plots``) reads run files through ``results`` and may use a section's
  pure helpers; no section imports it;
- shared below them: ``context`` (what a section gets), ``train_runs`` (training runs and
  their statistics), ``loading``, ``synthetic``, ``explore``, ``queries`` (``bench/cypher/``),
  ``common`` (machine, timing, server), and ``options`` at the bottom.
"""
