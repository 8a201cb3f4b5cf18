"""Section ``stages``: the pipeline on a named dataset, one real stage entry point at a time,
each timed with its peak memory: ingest, describe, profile, embed, build-graph, train. The
dataset it leaves in Neo4j is then used by the protocol, quality and ablation sections, and
its MLLMRec run is their first seed; it runs whenever one of them is asked for (its table is
recorded only when ``stages`` itself is)."""
from __future__ import annotations

import logging
from typing import Any

from bench.common import DATA, Measurement, measure
from bench.context import Context
from bench.loading import ingest
from bench.options import Options
from bench.train_runs import TrainResult, train
from loaders.canonical import Catalogue
from mllmrec.config import Settings
from mllmrec.dataset import drop_dataset
from mllmrec.db import Store
from mllmrec.errors import ConfigError

log = logging.getLogger(__name__)

DATASETS = ("ml-100k", "amazon-sports")
SUB = "↳"  # marks a stage row that details part of the row above it


def load_dataset(name: str) -> Catalogue:
    """The raw catalogue of a benchmark dataset from ``$MLLMREC_DATA`` (default
    ``../shared/data``): MovieLens 100K with its posters, or the Amazon Sports 5-core
    catalogue with its keyword item texts (``amazon-sports/``, see its README)."""
    if name not in DATASETS:
        raise ConfigError(f"unknown benchmark dataset '{name}'; choose from {', '.join(DATASETS)}")
    if name == "amazon-sports":
        from loaders import load

        folder = DATA / "amazon-sports"
        if not (folder / "interactions.csv").is_file():
            raise ConfigError(f"Amazon Sports not found in {folder}; set MLLMREC_DATA")
        return load("csv", folder / "interactions.csv", items=folder / "items.csv",
                    domain="sports and outdoors products")
    from loaders.movielens import load_movielens

    folder = DATA / "ml-100k"
    if not (folder / "u.data").is_file():
        raise ConfigError(f"MovieLens 100K not found in {folder}; set MLLMREC_DATA")
    posters = DATA / "movielens-posters"
    return load_movielens(folder, posters if posters.is_dir() else None)


def section(ctx: Context) -> None:
    """Run the stages on ``--dataset`` (the first training seed trains MLLMRec unless only
    the protocol's leaky scope or ``tune-overhead`` needs the data) and keep the MLLMRec run
    in ``ctx.first``."""
    o = ctx.options
    log.info("== stages on %s", o.dataset)
    rows, ctx.first = run_stages(ctx.store, ctx.settings, o.dataset, train_model=trains_first(o))
    if "stages" in o.sections:
        ctx.save("stages", rows)


def trains_first(o: Options) -> bool:
    """Whether a section asked for uses the stage table's MLLMRec run: ``stages``,
    ``quality``, ``ablation``, ``tune``, ``encoder-precision`` (the first seed of the default
    MLLMRec), or ``protocol`` with its honest (training-only) scope."""
    return bool({"stages", "quality", "ablation", "tune", "encoder-precision"} & set(o.sections)) or \
        ("protocol" in o.sections and "train" in o.protocol_scopes)


def _row(stage: str, dataset: str, m: Measurement, count: int | None, unit: str) -> dict[str, Any]:
    return {"stage": stage, "dataset": dataset, "seconds": m.seconds, "count": count,
            "unit": unit, "throughput": count / m.seconds if count and m.seconds else None,
            "peak_rss_mb": m.peak_rss_mb}


def train_rows(result: TrainResult, source: str, train_interactions: int) -> list[dict[str, Any]]:
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


def embed_rows(extra: dict[str, Any], source: str) -> list[dict[str, Any]]:
    """The embed stage's items and users on their own (texts/s, tokens/s), from its summary:
    user texts are much longer than item texts, so one rate over both hides where time goes."""
    rows = []
    for kind in ("item", "user"):
        texts, seconds = extra.get(f"{kind}s_encoded"), extra.get(f"{kind}s_seconds")
        if not texts or not seconds:
            continue
        tokens = extra.get(f"{kind}s_tokens")
        rows.append({"stage": f"{SUB} embed: {kind}s", "kind": kind, "dataset": source, "seconds": seconds,
                     "count": texts, "unit": "texts", "throughput": texts / seconds,
                     "tokens": tokens, "tokens_per_s": tokens / seconds if tokens else None,
                     "peak_rss_mb": None})
    return rows


def run_stages(store: Store, settings: Settings, source: str,
               train_model: bool = True) -> tuple[list[dict[str, Any]], TrainResult | None]:
    """Run every stage on ``source`` as dataset ``settings.dataset`` (replaced if present),
    training MLLMRec last unless ``train_model`` is false. Returns the stage rows and the
    MLLMRec training result (None when not trained)."""
    from mllmrec.enrich.describe import describe_items
    from mllmrec.enrich.embed import embed_texts
    from mllmrec.enrich.profile import profile_users
    from mllmrec.graph.build import build_graph

    name = settings.dataset
    drop_dataset(store, name)
    cat = load_dataset(source)
    rows = []
    with measure() as m:
        _, rep = ingest(store, settings, cat, {"format": source})
    rows.append(_row("ingest", source, m, rep.interactions, "interactions"))
    with measure() as m:
        described = describe_items(store, settings)
    rows.append(_row("describe" + (" (no LLM: metadata text)" if settings.enrich.no_llm else ""),
                     source, m, described.total, "items"))
    with measure() as m:
        profiled = profile_users(store, settings)
    rows.append(_row("profile" + (" (no LLM: behavioural list)" if settings.enrich.no_llm else ""),
                     source, m, profiled.total, "users"))
    with measure() as m:
        embedded = embed_texts(store, settings)
    rows.append(_row("embed", source, m, embedded.generated, "texts"))
    rows += embed_rows(embedded.extra, source)
    with measure() as m:
        built = build_graph(store, settings)
    edges = int(built.counts["co_occurs_edges"] + built.counts["similar_edges"])
    rows.append(_row("build-graph", source, m, edges, "edges"))
    for phase, key, timing, unit in (
            ("co-occurrence", "co_occurs_edges", "cooccurrence_s", "CO_OCCURS edges"),
            ("semantic kNN", "similar_edges", "semantic_s", "SIMILAR edges")):
        seconds = built.timings[timing]
        rows.append({"stage": f"{SUB} build-graph: {phase}", "dataset": source, "seconds": seconds,
                     "count": int(built.counts[key]), "unit": unit,
                     "throughput": built.counts[key] / seconds if seconds else None,
                     "peak_rss_mb": None})
    if not train_model:
        return rows, None
    result = train(store, settings, label="MLLMRec")
    rows += train_rows(result, source, rep.splits.get(0, 0))
    return rows, result
