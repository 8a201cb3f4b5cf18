"""The pipeline on a named dataset, one real stage entry point at a time, each timed with its
peak memory: ingest, describe, profile, embed, build-graph, train. The dataset it leaves in
Neo4j is then used by the quality table and the ablation."""
from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from bench.common import REPO, measure
from bench.loading import ingest
from bench.report import SUB
from bench.train_runs import train
from loaders.canonical import Catalogue
from mllmrec.config import Settings
from mllmrec.dataset import drop_dataset
from mllmrec.db import Graph
from mllmrec.errors import ConfigError

log = logging.getLogger(__name__)

DATA = Path(os.environ.get("MLLMREC_DATA", REPO.parent / "shared" / "data"))
DATASETS = ("ml-100k",)


def load_dataset(name: str) -> Catalogue:
    """The raw catalogue of a benchmark dataset (MovieLens 100K with its posters from
    ``$MLLMREC_DATA``, default ``../shared/data``)."""
    if name != "ml-100k":
        raise ConfigError(f"unknown benchmark dataset '{name}'; choose from {', '.join(DATASETS)}")
    from loaders.movielens import load_movielens

    folder = DATA / "ml-100k"
    if not (folder / "u.data").is_file():
        raise ConfigError(f"MovieLens 100K not found in {folder}; set MLLMREC_DATA")
    posters = DATA / "movielens-posters"
    return load_movielens(folder, posters if posters.is_dir() else None)


def _edges(summary: Any) -> int:
    """Edges written by a graph build, from its summary."""
    return int(summary.counts["co_occurs_edges"] + summary.counts["similar_edges"])


def _row(stage: str, dataset: str, m: Any, count: int | None, unit: str) -> dict[str, Any]:
    return {"stage": stage, "dataset": dataset, "seconds": m.seconds, "count": count,
            "unit": unit, "throughput": count / m.seconds if count and m.seconds else None,
            "peak_rss_mb": m.peak_rss_mb}


def train_rows(result: dict[str, Any], source: str, train_interactions: int) -> list[dict]:
    """The training stage as a whole (data pull, epochs, evaluation, write-back) and its
    BPR epochs and per-epoch evaluations on their own."""
    curve = result["curve"]
    fit = sum(c["train_seconds"] for c in curve)
    evaluation = sum(c["eval_seconds"] for c in curve)
    triples = train_interactions * len(curve)
    return [
        {"stage": f"train ({result['model']}), whole run", "dataset": source,
         "seconds": result["seconds"], "count": result["epochs"], "unit": "epochs",
         "throughput": None, "peak_rss_mb": result.get("peak_rss_mb")},
        {"stage": f"{SUB} train: BPR epochs", "dataset": source, "seconds": fit, "count": triples,
         "unit": "BPR triples", "throughput": triples / fit if fit else None, "peak_rss_mb": None},
        {"stage": f"{SUB} train: validation each epoch", "dataset": source, "seconds": evaluation,
         "count": len(curve), "unit": "full-ranking evaluations",
         "throughput": len(curve) / evaluation if evaluation else None, "peak_rss_mb": None},
    ]


def run_stages(graph: Graph, settings: Settings, source: str,
               train_model: bool = True) -> tuple[list[dict], dict | None]:
    """Run every stage on ``source`` as dataset ``settings.dataset`` (replaced if present),
    training MLLMRec last unless ``train_model`` is false. Returns the stage rows and the
    MLLMRec training result (None when not trained)."""
    from mllmrec.enrich.describe import describe_items
    from mllmrec.enrich.embed import embed_texts
    from mllmrec.enrich.profile import profile_users
    from mllmrec.graph.build import build_graph

    name = settings.dataset
    drop_dataset(graph, name)
    cat = load_dataset(source)
    rows = []
    with measure() as m:
        _, rep = ingest(graph, settings, cat, {"format": source})
    rows.append(_row("ingest", source, m, rep.interactions, "interactions"))
    with measure() as m:
        s = describe_items(graph, settings)
    rows.append(_row("describe" + (" (no LLM: metadata text)" if settings.enrich.no_llm else ""),
                     source, m, s.total, "items"))
    with measure() as m:
        s = profile_users(graph, settings)
    rows.append(_row("profile" + (" (no LLM: behavioural list)" if settings.enrich.no_llm else ""),
                     source, m, s.total, "users"))
    with measure() as m:
        s = embed_texts(graph, settings)
    rows.append(_row("embed", source, m, s.generated, "texts"))
    with measure() as m:
        s = build_graph(graph, settings)
    rows.append(_row("build-graph", source, m, _edges(s), "edges"))
    for phase, key, unit in (("co-occurrence", "co_occurs_edges", "CO_OCCURS edges"),
                             ("semantic kNN", "similar_edges", "SIMILAR edges")):
        seconds = s.timings["cooccurrence_s" if key == "co_occurs_edges" else "semantic_s"]
        rows.append({"stage": f"{SUB} build-graph: {phase}", "dataset": source, "seconds": seconds,
                     "count": int(s.counts[key]), "unit": unit,
                     "throughput": s.counts[key] / seconds if seconds else None,
                     "peak_rss_mb": None})
    if not train_model:
        return rows, None
    result = train(graph, settings, label="MLLMRec")
    rows += train_rows(result, source, rep.splits.get(0, 0))
    return rows, result
