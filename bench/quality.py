"""Section ``quality``: MLLMRec, BPR-MF, LightGCN and the hybrid (MLLMRec's text towers plus
LightGCN ID embeddings) on the same split, each trained to early stopping with every seed,
Recall/NDCG@10/20 (mean +- std) on valid and test at the best validation epoch, training
curves, and a Wilcoxon signed-rank test over users of MLLMRec against the ID baseline with the
best mean validation Recall@20.

``--quality-models`` trains a subset: on a large catalogue two processes share the models
(``mllmrec,hybrid`` and ``bpr,lightgcn``), and the report joins their tables (:func:`merge`)
when both ran at one commit on the same split with the same seeds and conditions."""
from __future__ import annotations

import logging
from typing import Any

from bench.common import enrichment_note, split_fingerprint
from bench.context import Context
from bench.options import QUALITY_MODELS
from bench.train_runs import MODEL_NAMES, Aggregate, paired_test, repeat
from mllmrec.train.data import load_train_data

log = logging.getLogger(__name__)

ORDER = QUALITY_MODELS  # cheapest baseline first: a cut run keeps more
BASELINES = ("bpr", "lightgcn")  # the ID models the paired test picks from
#: what two runs' tables must share for the report to join their models
SAME_CONDITIONS = ("dataset", "seed", "seeds", "patience", "max_epochs", "eval_every",
                   "history_scope", "note", "split")


def section(ctx: Context) -> None:
    """Train the models of ``--quality-models`` in :data:`ORDER` (MLLMRec reused from the
    protocol section when it trained the default configuration with the same seeds), saving
    after every training run."""
    o = ctx.options
    log.info("== quality (models %s, seeds %s)", ",".join(o.quality_models), ",".join(map(str, o.seeds)))
    split = split_fingerprint(load_train_data(ctx.store, ctx.settings.dataset, features=False,
                                              item_graph=False, user_features=False))

    def save(models: list[Aggregate]) -> None:
        ctx.save("quality", table(ctx, models, split))

    models: list[Aggregate] = []
    for model in o.quality_models:
        if model == "mllmrec" and ctx.mllmrec is not None:
            models.append(ctx.mllmrec)
        else:
            models.append(repeat(
                ctx.store, ctx.settings.with_overrides({"train.model": model}), o.seeds,
                first=ctx.first if model == "mllmrec" else None,
                on_run=lambda agg: save([*models, agg])))
        if model == "mllmrec":
            ctx.mllmrec = models[-1]
        save(models)


def table(ctx: Context, models: list[Aggregate], split: str | None = None) -> dict[str, Any]:
    """The section of the models trained so far (the last may still lack seeds)."""
    o, settings = ctx.options, ctx.settings
    done = {m["model"] for m in models}
    return _tested({"dataset": o.dataset, "seed": o.seed, "seeds": list(o.seeds),
                    "patience": settings.train.patience, "max_epochs": settings.train.epochs,
                    "eval_every": settings.train.eval_every,
                    "history_scope": settings.enrich.history_scope, "split": split,
                    "models": models,
                    "missing": [MODEL_NAMES[m] for m in o.quality_models if MODEL_NAMES[m] not in done],
                    "note": enrichment_note(settings)})


def _tested(section: dict[str, Any]) -> dict[str, Any]:
    """``section`` with its paired test: MLLMRec against the ID baseline of :data:`BASELINES`
    with the best mean validation Recall@20 (None while either is missing)."""
    by_name = {m["model"]: m for m in section["models"]}
    baselines = [by_name[MODEL_NAMES[k]] for k in BASELINES if MODEL_NAMES[k] in by_name]
    best = max(baselines, key=lambda m: m["valid"]["recall@20"]) if baselines else None
    ours = by_name.get(MODEL_NAMES["mllmrec"])
    return {**section, "paired_test": paired_test(ours, best) if ours and best else None}


def joined(section: dict[str, Any]) -> list[str]:
    """The models a run's table holds, as the report's provenance names them."""
    return [m["model"] for m in section.get("models", [])]


def merge(section: dict[str, Any], other: dict[str, Any]) -> dict[str, Any] | None:
    """``section`` completed with the models it lacks from ``other`` (another process's
    ``--quality-models``) when both measured the same split under the same conditions (see
    :data:`SAME_CONDITIONS`); None when they differ or ``other`` adds nothing."""
    if not all(section.get(k) == other.get(k) for k in SAME_CONDITIONS):
        return None
    have = {m["model"] for m in section["models"]}
    new = [m for m in other.get("models", []) if m["model"] not in have]
    if not new:
        return None
    rank = {MODEL_NAMES[k]: i for i, k in enumerate(ORDER)}
    models = sorted([*section["models"], *new], key=lambda m: rank.get(m["model"], len(rank)))
    names = {m["model"] for m in models}
    missing = [m for m in dict.fromkeys([*section.get("missing", []), *other.get("missing", [])])
               if m not in names]
    return _tested({**section, "models": models, "missing": missing})
