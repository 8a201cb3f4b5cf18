"""Section ``ablation``: the ablation table of the paper, on the dataset :mod:`bench.stages` left in Neo4j: each
variant is the real pipeline with one setting changed (graph variants rebuild the item-item
graph, the no-LLM variant re-profiles and re-embeds the users), trained by the real trainer
with the same split, seeds and protocol as the full method (early stopping on validation,
mean and std over seeds). Variants whose mean validation Recall@20 beats the full method's
are listed in ``better_on_validation`` with the flag that picks them."""
from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bench.context import Context
from bench.train_runs import Aggregate, TrainResult, repeat
from mllmrec.config import Settings
from mllmrec.db import Store

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Variant:
    name: str
    overrides: dict[str, Any] = field(default_factory=dict)
    note: str = ""
    pick: str = ""  # how a user selects this variant (command-line flags)

    @property
    def change(self) -> str:
        return ", ".join(f"{k}={v}" for k, v in self.overrides.items()) or "-"

    def touches(self, section: str) -> bool:
        return any(k.startswith(section + ".") for k in self.overrides)


# Variants that keep the base graph come first so the graph is rebuilt once per graph
# variant and never restored.
VARIANTS = (
    Variant("full method"),
    Variant("with UI-GCN", {"train.ui_gcn": True}, pick="mllmrec train --ui-gcn"),
    Variant("w/o user preference", {"train.use_user_pref": False},
            pick="mllmrec train --no-user-pref"),
    Variant("w/o LLM reasoning", {"enrich.no_llm": True},
            pick="mllmrec profile-users --no-llm && mllmrec embed"),
    Variant("w/o co-occurrence graph", {"graph.knn_jac": 0},
            pick="mllmrec build-graph --knn-jac 0 && mllmrec train"),
    Variant("w/o semantic graph", {"graph.knn_k": 1, "graph.pure": 1.0},
            "the graph settings have no switch to drop G_s: knn_k=1 with pure=1.0 keeps at "
            "most each item's self-match (cosine 1), so G is G_c plus at most self-loops",
            pick="mllmrec build-graph --knn-k 1 --pure 1.0 && mllmrec train"),
    Variant("w/o threshold", {"graph.pure": -1.0},
            pick="mllmrec build-graph --pure -1 && mllmrec train"),
)


def section(ctx: Context) -> None:
    """Every variant with every seed on the stage table's dataset."""
    log.info("== ablation")
    o = ctx.options
    ctx.save("ablation", run_ablation(ctx.store, ctx.settings, o.dataset, ctx.mllmrec,
                                       seeds=o.seeds, on_progress=ctx.keeper("ablation"),
                                       first=ctx.first))


def active_edges(store: Store, dataset: str) -> dict[str, int]:
    """CO_OCCURS and SIMILAR edge counts of the dataset's active graph build."""
    rows = store.run("graph/active_build", dataset=dataset)
    counts = json.loads(rows[0]["counts"]) if rows and rows[0]["counts"] else {}
    return {"co_occurs": int(counts.get("co_occurs_edges", 0)),
            "similar": int(counts.get("similar_edges", 0))}


def _rebuild(store: Store, settings: Settings) -> None:
    from mllmrec.graph.build import build_graph

    build_graph(store, settings)


def _reprofile(store: Store, settings: Settings) -> None:
    from mllmrec.enrich.embed import embed_texts
    from mllmrec.enrich.profile import profile_users

    profile_users(store, settings)
    embed_texts(store, settings)


def run_ablation(store: Store, base: Settings, source: str,
                 full_result: Aggregate | None = None,
                 variants: tuple[Variant, ...] = VARIANTS,
                 seeds: tuple[int, ...] | None = None,
                 on_progress: Callable[[dict[str, Any]], None] | None = None,
                 first: TrainResult | None = None) -> dict[str, Any]:
    """Train every variant with every seed (default: ``base.train.seed`` only) on dataset
    ``base.dataset`` (loaded from ``source``); ``full_result`` (the aggregated MLLMRec run of
    the quality table, same settings and seeds) is reused for the full method instead of
    training it again; without it, ``first`` (a run of the base settings with the first seed,
    e.g. the stage table's) is reused as the full method's first seed. ``on_progress`` sees
    the section after each variant."""
    seeds = seeds or (base.train.seed,)
    rows = []
    graph_is_base = True
    base_edges = active_edges(store, base.dataset) if store is not None else None
    # the full method's result, once known (variants equal to it reuse it)
    full: Aggregate | None = full_result
    for v in variants:
        settings = base.with_overrides(v.overrides)
        note = v.note
        if v.touches("enrich") and all(getattr(base.enrich, k.split(".")[1]) == val
                                       for k, val in v.overrides.items()):
            rows.append(_row(v, full, "same as the full method here: no generative model "
                             "was configured, so the full method already used the --no-llm "
                             "behavioural list as the user text", base_edges, same_as_full=True))
            continue
        if not v.overrides and full_result is not None:
            rows.append(_row(v, full_result, "the MLLMRec run of the quality table", base_edges,
                             same_as_full=True))
            continue
        log.info("ablation: %s (%s)", v.name, v.change)
        try:
            if v.touches("graph"):
                graph_is_base = False
                _rebuild(store, settings)
            elif not graph_is_base:
                _rebuild(store, base)
                graph_is_base = True
            if v.touches("enrich"):
                _reprofile(store, settings)
            result = repeat(store, settings, seeds, label=v.name,
                            first=first if not v.overrides else None)
            if not v.overrides:
                full = result
            rows.append(_row(v, result, note, active_edges(store, settings.dataset)))
        except Exception as exc:  # noqa: BLE001 - one failed variant must not sink the table
            log.exception("ablation variant %s failed", v.name)
            rows.append(_row(v, None, f"failed: {type(exc).__name__}: {exc}"[:300], None))
        if on_progress:
            on_progress(_section(source, rows, seeds, variants))
    return _section(source, rows, seeds, variants)


def _section(source: str, rows: list[dict[str, Any]], seeds: tuple[int, ...],
             variants: tuple[Variant, ...]) -> dict[str, Any]:
    return {"dataset": source, "rows": rows, "seeds": list(seeds),
            "missing": [v.name for v in variants[len(rows):]],
            "better_on_validation": better_on_validation(rows),
            "note": "The full method on this machine uses the enrichment the configuration "
                    "allows (see the stage table)."}


def better_on_validation(rows: list[dict[str, Any]], metric: str = "recall@20") -> list[dict[str, Any]]:
    """Variants whose mean validation ``metric`` beats the full method's (first row), with the
    flag that picks them; the test split plays no part in this verdict."""
    full = rows[0]["valid"].get(metric) if rows else None
    if full is None:
        return []
    picks = {v.name: v.pick for v in VARIANTS}
    return [{"variant": r["variant"], "pick": r.get("pick") or picks.get(r["variant"], r["change"]),
             "valid": r["valid"][metric], "full_valid": full, "test": r["test"].get(metric)}
            for r in rows[1:]
            if r["valid"].get(metric, -1.0) > full and not r.get("same_as_full")]


def _row(v: Variant, result: Aggregate | None, note: str,
         edges: dict[str, int] | None, same_as_full: bool = False) -> dict[str, Any]:
    got: dict[str, Any] = dict(result or {})
    return {"variant": v.name, "same_as_full": same_as_full, "change": v.change, "pick": v.pick,
            "valid": got.get("valid", {}),
            "valid_std": got.get("valid_std", {}), "test": got.get("test", {}),
            "test_std": got.get("test_std", {}), "seeds": got.get("seeds", []),
            "best_epoch": got.get("best_epoch"), "epochs": got.get("epochs"),
            "seconds": got.get("seconds"), "graph_edges": edges, "note": note}
