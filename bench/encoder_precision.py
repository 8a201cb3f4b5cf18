"""Section ``encoder-precision`` (``python -m bench encoder-precision``): what the int8 encoder
(``enrich.encoder_precision: int8``) does to recommendation quality (issue 21, item 2).

The bench dataset is prepared a second time with every stage on int8 vectors (its own
dataset: embed, so the semantic kNN graph and the user features, all from int8 vectors), and
the default MLLMRec trains to early stopping with every seed on both; the fp32 side is the
run's default MLLMRec (shared with the other sections). A paired test over test users
compares the two. Speed and vector parity are measured by ``embed-scale``.
"""
from __future__ import annotations

import logging
from typing import Any

from bench.context import Context
from bench.stages import run_stages
from bench.train_runs import paired_test, repeat
from mllmrec.dataset import drop_dataset

log = logging.getLogger(__name__)


def section(ctx: Context) -> None:
    """fp32 (the run's default MLLMRec) beside int8 (prepared and trained here)."""
    o = ctx.options
    log.info("== encoder-precision on %s (seeds %s)", o.dataset, ",".join(map(str, o.seeds)))
    result: dict[str, Any] = {"dataset": o.dataset, "seeds": list(o.seeds),
                              "max_epochs": ctx.settings.train.epochs,
                              "patience": ctx.settings.train.patience, "models": []}
    fp32 = ctx.default_mllmrec()
    result["models"].append({**fp32, "label": "MLLMRec, fp32 encoder"})
    ctx.save("encoder-precision", result)
    int8 = ctx.settings.with_overrides({"dataset": f"{ctx.settings.dataset}-int8",
                                        "enrich.encoder_precision": "int8",
                                        "train.model": "mllmrec"})
    try:
        run_stages(ctx.store, int8, o.dataset, train_model=False)
        result["models"].append(repeat(ctx.store, int8, o.seeds, label="MLLMRec, int8 encoder"))
    finally:
        drop_dataset(ctx.store, int8.dataset)
    result["paired_test"] = paired_test(result["models"][1], result["models"][0])
    ctx.save("encoder-precision", result)
