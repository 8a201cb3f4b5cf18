"""Section ``quality``: MLLMRec, BPR-MF, LightGCN and the hybrid (MLLMRec's text towers plus
LightGCN ID embeddings) on the same split, each trained to early stopping with every seed,
Recall/NDCG@10/20 (mean +- std) on valid and test at the best validation epoch, training
curves, and a Wilcoxon signed-rank test over users of MLLMRec against the ID baseline with the
best mean validation Recall@20."""
from __future__ import annotations

import logging
from typing import Any

from bench.common import enrichment_note
from bench.context import Context
from bench.train_runs import MODEL_NAMES, Aggregate, paired_test, repeat

log = logging.getLogger(__name__)

ORDER = ("mllmrec", "bpr", "lightgcn", "hybrid")  # cheapest baseline first: a cut run keeps more
BASELINES = ("bpr", "lightgcn")  # the ID models the paired test picks from


def section(ctx: Context) -> None:
    """Train the models of :data:`ORDER` (MLLMRec reused from the protocol section when it trained the
    default configuration with the same seeds), saving after every training run."""
    o = ctx.options
    log.info("== quality (seeds %s)", ",".join(map(str, o.seeds)))

    def save(models: list[Aggregate]) -> None:
        ctx.save("quality", table(ctx, models))

    models: list[Aggregate] = []
    for model in ORDER:
        if model == "mllmrec" and ctx.mllmrec is not None:
            models.append(ctx.mllmrec)
        else:
            models.append(repeat(
                ctx.store, ctx.settings.with_overrides({"train.model": model}), o.seeds,
                first=ctx.first if model == "mllmrec" else None,
                on_run=lambda agg: save([*models, agg])))
        save(models)
    ctx.mllmrec = models[0]


def table(ctx: Context, models: list[Aggregate]) -> dict[str, Any]:
    """The section of the models trained so far (the last may still lack seeds)."""
    o, settings = ctx.options, ctx.settings
    baselines = [m for key, m in zip(ORDER, models) if key in BASELINES]
    best = max(baselines, key=lambda m: m["valid"]["recall@20"]) if baselines else None
    return {"dataset": o.dataset, "seed": o.seed, "seeds": list(o.seeds),
            "patience": settings.train.patience, "max_epochs": settings.train.epochs,
            "history_scope": settings.enrich.history_scope, "models": models,
            "missing": [MODEL_NAMES[m] for m in ORDER[len(models):]],
            "paired_test": paired_test(models[0], best) if best else None,
            "note": enrichment_note(settings)}
