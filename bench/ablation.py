"""The ablation table of the paper, on the dataset :mod:`bench.stages` left in Neo4j: each
variant is the real pipeline with one setting changed (graph variants rebuild the item-item
graph, the no-LLM variant re-profiles and re-embeds the users), trained by the real trainer
with the same split, seed and protocol as the full method."""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any

from bench.train_runs import train
from mllmrec.config import Settings
from mllmrec.db import Graph

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Variant:
    name: str
    overrides: dict[str, Any] = field(default_factory=dict)
    note: str = ""

    @property
    def change(self) -> str:
        return ", ".join(f"{k}={v}" for k, v in self.overrides.items()) or "-"

    def touches(self, section: str) -> bool:
        return any(k.startswith(section + ".") for k in self.overrides)


# Variants that keep the base graph come first so the graph is rebuilt once per graph
# variant and never restored.
VARIANTS = (
    Variant("full method"),
    Variant("with UI-GCN", {"train.ui_gcn": True}),
    Variant("w/o LLM reasoning", {"enrich.no_llm": True}),
    Variant("w/o co-occurrence graph", {"graph.knn_jac": 0}),
    Variant("w/o semantic graph", {"graph.knn_k": 1, "graph.pure": 1.0},
            "the graph settings have no switch to drop G_s: knn_k=1 with pure=1.0 keeps at "
            "most each item's self-match (cosine 1), so G is G_c plus at most self-loops"),
    Variant("w/o threshold", {"graph.pure": -1.0}),
)


def active_edges(graph: Graph, dataset: str) -> dict[str, int]:
    """CO_OCCURS and SIMILAR edge counts of the dataset's active graph build."""
    rows = graph.run("graph/active_build", dataset=dataset)
    counts = json.loads(rows[0]["counts"]) if rows and rows[0]["counts"] else {}
    return {"co_occurs": int(counts.get("co_occurs_edges", 0)),
            "similar": int(counts.get("similar_edges", 0))}


def _rebuild(graph: Graph, settings: Settings) -> None:
    from mllmrec.graph.build import build_graph

    build_graph(graph, settings)


def _reprofile(graph: Graph, settings: Settings) -> None:
    from mllmrec.enrich.embed import embed_texts
    from mllmrec.enrich.profile import profile_users

    profile_users(graph, settings)
    embed_texts(graph, settings)


def run_ablation(graph: Graph, base: Settings, source: str,
                 full_result: dict[str, Any] | None = None,
                 variants: tuple[Variant, ...] = VARIANTS) -> dict[str, Any]:
    """Train every variant on dataset ``base.dataset`` (loaded from ``source``);
    ``full_result`` (the MLLMRec run of the quality table, same settings) is reused for the
    full method instead of training it again."""
    rows = []
    graph_is_base = True
    base_edges = active_edges(graph, base.dataset) if graph is not None else None
    for v in variants:
        settings = base.with_overrides(v.overrides)
        note = v.note
        if v.touches("enrich") and all(getattr(base.enrich, k.split(".")[1]) == val
                                       for k, val in v.overrides.items()):
            rows.append(_row(v, full_result, "same as the full method here: no generative model "
                             "was configured, so the full method already used the --no-llm "
                             "behavioural list as the user text", base_edges))
            continue
        if not v.overrides and full_result is not None:
            rows.append(_row(v, full_result, "the MLLMRec run of the quality table", base_edges))
            continue
        log.info("ablation: %s (%s)", v.name, v.change)
        try:
            if v.touches("graph"):
                graph_is_base = False
                _rebuild(graph, settings)
            elif not graph_is_base:
                _rebuild(graph, base)
                graph_is_base = True
            if v.touches("enrich"):
                _reprofile(graph, settings)
            rows.append(_row(v, train(graph, settings, label=v.name), note,
                             active_edges(graph, settings.dataset)))
        except Exception as exc:  # noqa: BLE001 - one failed variant must not sink the table
            log.exception("ablation variant %s failed", v.name)
            rows.append(_row(v, None, f"failed: {type(exc).__name__}: {exc}"[:300], None))
    return {"dataset": source, "rows": rows,
            "note": "The full method on this machine uses the enrichment the configuration "
                    "allows (see the stage table)."}


def _row(v: Variant, result: dict[str, Any] | None, note: str,
         edges: dict[str, int] | None) -> dict[str, Any]:
    result = result or {}
    return {"variant": v.name, "change": v.change, "valid": result.get("valid", {}),
            "test": result.get("test", {}), "best_epoch": result.get("best_epoch"),
            "epochs": result.get("epochs"), "seconds": result.get("seconds"),
            "graph_edges": edges, "note": note}
