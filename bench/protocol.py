"""The report's "protocol" section: how much the published protocol inflates MLLMRec's
numbers on the benchmark dataset.

Two choices differ between the authors' code and this project (METHOD.md sections 3 and 7):
user texts built from all splits (``enrich.history_scope = "all"``) instead of training
interactions only, and the grid-search configuration picked on test Recall@20 instead of
validation Recall@20. The same grid (:mod:`bench.grid`) is trained with each user-text scope;
the four (scope, selection) cells and each cell's inflation over the honest one (train-only
texts, chosen on validation) are reported, for Recall@20 and NDCG@20, absolute and relative.
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from bench.grid import built, choices, prepare_users, run_grid
from mllmrec.config import Settings
from mllmrec.db import Graph

log = logging.getLogger(__name__)

METRICS = ("recall@20", "ndcg@20")
#: (user-text scope, selection split) -> what the cell is, honest first, published last.
CELLS = (("train", "valid", "this project: training-only user texts, chosen on validation"),
         ("all", "valid", "leaky user texts only"),
         ("train", "test", "test-set selection only"),
         ("all", "test", "published protocol: all-splits user texts, chosen on test"))


def run_protocol(graph: Graph, settings: Settings, grid: list[dict[str, Any]],
                 seeds: Sequence[int], first: dict[str, Any] | None = None,
                 on_progress: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:
    """Train the grid with each user-text scope on ``settings.dataset`` (ingested, embedded,
    graph built with ``settings.graph``; ``first``: its MLLMRec run with ``seeds[0]``), then
    restore the training-only user texts and the configured graph. ``on_progress`` sees the
    section after each scope."""
    from mllmrec.graph.build import build_graph

    default, current = built(settings), built(settings)
    grids: dict[str, list[dict[str, Any]]] = {}
    try:
        for scope in ("train", "all"):
            s = settings.with_overrides({"enrich.history_scope": scope})
            log.info("protocol: user texts with history scope %s", scope)
            prepare_users(graph, s)
            grids[scope], current = run_grid(graph, s, grid, seeds, current,
                                             first if scope == "train" else None)
            if on_progress:
                on_progress(summarise(grids, settings, seeds))
    finally:
        log.info("protocol: restoring training-only user texts and the configured graph")
        prepare_users(graph, settings)
        if current != default:
            build_graph(graph, settings)
    return summarise(grids, settings, seeds)


def summarise(grids: dict[str, list[dict[str, Any]]], settings: Settings,
              seeds: Sequence[int]) -> dict[str, Any]:
    """The four cells and their inflation over the honest cell (see module docstring)."""
    chosen = {scope: choices(rows) for scope, rows in grids.items()}
    cells = [{"scope": scope, "selection": split, "what": what, **chosen[scope][split]}
             for scope, split, what in CELLS if scope in chosen]
    honest = cells[0]["test"]
    for cell in cells:
        cell["inflation"] = {m: {"absolute": cell["test"][m] - honest[m],
                                 "relative": (cell["test"][m] - honest[m]) / honest[m]
                                 if honest[m] else None} for m in METRICS}
    return {"grid": grids, "cells": cells, "seeds": list(seeds),
            "missing": [scope for scope in ("train", "all") if scope not in grids],
            "max_epochs": settings.train.epochs, "patience": settings.train.patience,
            "no_llm": settings.enrich.no_llm}
