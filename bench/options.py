"""The one options object of ``python -m bench`` and the parser that builds it.

Every section reads the same :class:`Options`; defaults that depend on ``--quick`` are
resolved here, once, so a section never guesses. This module imports nothing else of
``bench`` (it sits at the bottom of the import graph, see ``bench/__init__.py``).
"""
from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"

#: Every section, in the order a run measures them, with its one-line summary.
SECTIONS: dict[str, str] = {
    "stages": "every pipeline stage on --dataset (ingest .. train MLLMRec): time, throughput, "
              "peak memory",
    "protocol": "how much the published protocol (user texts from all splits, grid choice on "
                "test) inflates MLLMRec's Recall/NDCG@20",
    "quality": "MLLMRec, LightGCN and BPR-MF to early stopping with every seed; paired test",
    "ablation": "the paper's ablation variants through the real trainer, same seeds",
    "scaling": "ingest, graph build, pull, one epoch and evaluation on synthetic data of growing "
               "size; log-log slopes",
    "paper-scale": "an Amazon-Sports-sized catalogue (--profile) through every stage, each "
                   "beside a reference measured in the same run",
    "embed-scale": "the real Amazon Sports texts through the pipeline (--no-llm) to a converged "
                   "model; embed in fp32 and int8 beside the encoder alone; LLM-length texts",
    "tune": "mllmrec tune's default study on --dataset, then its winner, default MLLMRec and "
            "LightGCN to early stopping with every seed; paired tests",
    "encoder-precision": "default MLLMRec with every seed on --dataset prepared with the fp32 "
                         "and with the int8 encoder; paired test",
    "components": "ingest, enrichment and graph-build micro-benchmarks against same-run "
                  "references",
    "train-speed": "the trainer's hot loops against minimal PyTorch references (no Neo4j)",
    "train-parallel": "LightGCN epoch: full graph vs sampled blocks, 1 vs 2 processes (no Neo4j)",
    "cold-start": "20% of items / of users held out entirely: MLLMRec, hybrid, LightGCN, BPR-MF, "
                  "text-kNN, popularity on warm and cold targets, every seed; paired test",
    "tune-overhead": "one trial of 'mllmrec tune' against the same 'train' run on --dataset "
                     "(same model, graph, seed and epochs): wall time, ratio (target <= 1.05)",
    "embed-paths": "the three ways to embed: local fp32 vs int8 texts/s and parity, and the "
                   "endpoint clients' requests/s against a stub server with fixed latency "
                   "(no Neo4j)",
}
#: Sections that need the benchmark dataset (all but ``tune-overhead`` the stage table's
#: MLLMRec run too).
ON_DATASET = ("stages", "protocol", "quality", "ablation", "tune", "encoder-precision", "tune-overhead")
#: Sections that run without a Neo4j server.
WITHOUT_NEO4J = ("train-speed", "train-parallel", "embed-paths")
REPORT = "report"

SCOPES = ("train", "all")
#: Catalogues the cold-start section can measure (bench/stages.py loads them).
COLD_DATASETS = ("ml-100k", "amazon-sports")
#: The models of the quality section, in the order it trains them (cheapest baseline first).
QUALITY_MODELS = ("mllmrec", "bpr", "lightgcn", "hybrid")
#: Its protocols: a fifth of the items, or of the users, held out entirely.
COLD_PROTOCOLS = ("cold-items", "cold-users")
#: Its trained runs, model:negative pool (the text models with both pools, chosen on validation).
COLD_RUNS = ("mllmrec:all", "mllmrec:interacted", "hybrid:all", "hybrid:interacted",
             "lightgcn:all", "bpr:all")
FULL_SIZES = (10_000, 100_000, 300_000, 1_000_000)
QUICK_SIZES = (10_000, 30_000, 100_000)
ENDPOINT_CONCURRENCY = (1, 4, 8)
SEEDS = 5  # training seeds of the converged tables: the spread over seeds is about +-0.007

#: Paper-scale profiles: interactions (users and items follow Amazon Sports' ratios; "sports"
#: reproduces its counts exactly), the graph settings of the paper's defaults, and how many
#: new items and new users ``refresh`` serves after training (issue 19: 1,000 + 1,000).
PROFILES: dict[str, dict[str, Any]] = {
    "sports": {"interactions": 296_337, "graph.knn_jac": 10, "graph.pure": 0.4,
               "arrivals": 1_000},
    # A quick end-to-end check of the bench itself (~1,200 items: approximate mode forced).
    "small": {"interactions": 20_000, "graph.knn_jac": 10, "graph.pure": 0.4,
              "graph.approximate_above": 1_000, "arrivals": 100},
}


def key(section: str) -> str:
    """A section's key in the run JSON (``paper-scale`` -> ``paper_scale``)."""
    return section.replace("-", "_")


@dataclass(frozen=True)
class GridSpec:
    """The protocol section's grid over the item-item graph settings."""

    knn_k: tuple[int, ...] = (5, 10)
    knn_jac: tuple[int, ...] = (10,)
    pure: tuple[float, ...] = (0.7,)


@dataclass(frozen=True)
class Options:
    """What to measure and how; one object shared by every section."""

    sections: tuple[str, ...]
    dataset: str = "ml-100k"
    quick: bool = False
    seed: int = 2025
    seeds: tuple[int, ...] = tuple(range(2025, 2025 + SEEDS))
    max_epochs: int = 1000
    patience: int = 20
    grid: GridSpec = field(default_factory=GridSpec)
    protocol_scopes: tuple[str, ...] = SCOPES
    cold_datasets: tuple[str, ...] = ("ml-100k",)
    cold_protocols: tuple[str, ...] = COLD_PROTOCOLS
    cold_runs: tuple[str, ...] = COLD_RUNS
    quality_models: tuple[str, ...] = QUALITY_MODELS
    sizes: tuple[int, ...] = FULL_SIZES
    profile: str = "sports"
    neo4j_heap: str = "2g"
    embed_texts: int = 2_000
    embed_repeats: int = 3
    endpoint_latency: float = 0.2
    endpoint_concurrency: tuple[int, ...] = ENDPOINT_CONCURRENCY
    config: str | None = None
    results_dir: Path = RESULTS
    sources: tuple[Path, ...] = ()  # ``report --from``: the JSON files to build the report of

    @property
    def report_only(self) -> bool:
        return self.sections == (REPORT,)

    @property
    def needs_neo4j(self) -> bool:
        return any(s not in WITHOUT_NEO4J for s in self.sections)

    def parameters(self) -> dict[str, Any]:
        """The options as plain values, for the run JSON."""
        return {"sections": list(self.sections), "dataset": self.dataset, "quick": self.quick,
                "seed": self.seed, "seeds": list(self.seeds), "max_epochs": self.max_epochs,
                "patience": self.patience, "grid": vars(self.grid),
                "protocol_scopes": list(self.protocol_scopes),
                "cold_datasets": list(self.cold_datasets),
                "cold_protocols": list(self.cold_protocols), "cold_runs": list(self.cold_runs),
                "quality_models": list(self.quality_models),
                "sizes": list(self.sizes),
                "profile": self.profile, "neo4j_heap": self.neo4j_heap,
                "embed_texts": self.embed_texts, "embed_repeats": self.embed_repeats,
                "endpoint_latency": self.endpoint_latency,
                "endpoint_concurrency": list(self.endpoint_concurrency)}


def _listing() -> str:
    width = max(map(len, SECTIONS))
    lines = [f"  {name:<{width}}  {summary}" for name, summary in SECTIONS.items()]
    lines += [f"  {'all':<{width}}  every section above",
              f"  {REPORT:<{width}}  measure nothing: rebuild bench/results/REPORT.md from the "
              "JSON files (--from)"]
    return "\n".join(lines)


def parser() -> argparse.ArgumentParser:
    """``python -m bench SECTION [SECTION ...] [options]``."""
    p = argparse.ArgumentParser(
        prog="python -m bench", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Benchmarks of mllmrec. Each run writes bench/results/<UTC time>.json and "
                    "rebuilds bench/results/REPORT.md, where every section names the run, date "
                    "and commit it comes from. Runs against a temporary Neo4j it starts and "
                    "deletes (or $NEO4J_URI's server, using only datasets named bench-*).",
        epilog="sections:\n" + _listing())
    p.add_argument("sections", nargs="+", metavar="SECTION",
                   choices=[*SECTIONS, "all", REPORT], help="what to measure (listed below)")
    p.add_argument("--dataset", default="ml-100k", help="dataset of stages/protocol/quality/ablation")
    p.add_argument("--quick", action="store_true",
                   help="small sizes, one seed and low epoch caps: minutes, not hours")
    p.add_argument("--seed", type=int, default=2025,
                   help="split seed, synthetic-data seed and the first training seed")
    p.add_argument("--seeds", type=int, default=None,
                   help=f"training seeds of protocol/quality/ablation: --seed, --seed+1, ... "
                        f"(default {SEEDS}, 1 with --quick); the split stays fixed")
    p.add_argument("--max-epochs", type=int, default=None,
                   help="epoch cap per training run (default 1000, 40 with --quick); early "
                        "stopping on validation Recall@20 still applies")
    p.add_argument("--patience", type=int, default=None,
                   help="early-stopping patience (default 20, 5 with --quick)")
    p.add_argument("--grid-knn-k", default="5,10", help="protocol grid: knn_k values")
    p.add_argument("--grid-knn-jac", default="10", help="protocol grid: knn_jac values")
    p.add_argument("--grid-pure", default="0.7", help="protocol grid: pure values")
    p.add_argument("--protocol-scopes", default=",".join(SCOPES),
                   help="user-text scopes the protocol trains (one per process lets two "
                        "processes share the work; the report joins runs of the same commit)")
    p.add_argument("--cold-datasets", default="ml-100k",
                   help="cold-start: catalogues to measure, comma-separated, from "
                        f"{', '.join(COLD_DATASETS)} (amazon-sports: $MLLMREC_DATA/amazon-sports, "
                        "hours per seed on a small machine)")
    p.add_argument("--cold-protocols", default=",".join(COLD_PROTOCOLS),
                   help="cold-start: protocols to measure (one per process lets two processes "
                        "share the work; the report joins runs of the same commit)")
    p.add_argument("--quality-models", default=",".join(QUALITY_MODELS),
                   help="quality: the models to train (two processes can share them; the "
                        "report joins their tables)")
    p.add_argument("--cold-runs", default=",".join(COLD_RUNS),
                   help="cold-start: the trained runs, model:negative pool (fewer make a large "
                        "catalogue affordable; a text model with one pool has no validation "
                        "choice to show); the reference methods always run")
    p.add_argument("--sizes", default=None,
                   help="scaling sizes in interactions, comma-separated (default "
                        f"{_csv(FULL_SIZES)}; {_csv(QUICK_SIZES)} with --quick)")
    p.add_argument("--profile", choices=list(PROFILES), default="sports",
                   help="paper-scale catalogue (sports: 35,598 users, 18,357 items, 296,337 "
                        "interactions; small: a quick check)")
    p.add_argument("--neo4j-heap", default="2g",
                   help="heap of the temporary Neo4j (the 1M-interaction scaling run needs 4g)")
    p.add_argument("--embed-texts", type=int, default=None,
                   help="embed-paths: ML-100K item texts the local encoder encodes per round "
                        "(default 2000, 256 with --quick)")
    p.add_argument("--embed-repeats", type=int, default=None,
                   help="embed-paths: interleaved rounds of each measurement, median reported "
                        "(default 3, 1 with --quick)")
    p.add_argument("--endpoint-latency", type=float, default=0.2,
                   help="embed-paths: seconds the stub server waits before each answer")
    p.add_argument("--endpoint-concurrency", default=_csv(ENDPOINT_CONCURRENCY),
                   help="embed-paths: client concurrencies C, comma-separated")
    p.add_argument("--config", default=None, help="YAML configuration file (as for mllmrec)")
    p.add_argument("--results-dir", type=Path, default=RESULTS)
    p.add_argument("--from", dest="sources", type=Path, nargs="+", default=[], metavar="FILE",
                   help="report: the run JSON files to build it from (default: every file in "
                        "--results-dir; each section from the newest file that has it)")
    return p


def parse(argv: Sequence[str] | None = None) -> Options:
    """The options of a command line; exits with a usage message on a bad one."""
    p = parser()
    a = p.parse_args(argv)
    chosen = set(a.sections)
    if REPORT in chosen and len(chosen) > 1:
        p.error("'report' measures nothing: give it alone")
    if a.sources and REPORT not in chosen:
        p.error("--from only applies to 'report'")
    sections = (REPORT,) if REPORT in chosen else (
        tuple(SECTIONS) if "all" in chosen else tuple(s for s in SECTIONS if s in chosen))
    scopes = _subset(p, "--protocol-scopes", a.protocol_scopes, SCOPES)
    cold = _subset(p, "--cold-datasets", a.cold_datasets, COLD_DATASETS)
    cold_protocols = _subset(p, "--cold-protocols", a.cold_protocols, COLD_PROTOCOLS)
    cold_runs = _subset(p, "--cold-runs", a.cold_runs, COLD_RUNS)
    quality_models = _subset(p, "--quality-models", a.quality_models, QUALITY_MODELS)
    concurrency = tuple(_split(a.endpoint_concurrency, int))
    if not concurrency or min(concurrency) < 1 or a.endpoint_latency <= 0:
        p.error("--endpoint-concurrency: positive integers; --endpoint-latency: above 0")
    n_seeds = a.seeds or (1 if a.quick else SEEDS)
    return Options(
        sections=sections, dataset=a.dataset, quick=a.quick, seed=a.seed,
        seeds=tuple(range(a.seed, a.seed + n_seeds)),
        max_epochs=a.max_epochs or (40 if a.quick else 1000),
        patience=a.patience or (5 if a.quick else 20),
        grid=GridSpec(tuple(_split(a.grid_knn_k, int)), tuple(_split(a.grid_knn_jac, int)),
                      tuple(_split(a.grid_pure, float))),
        protocol_scopes=scopes, cold_datasets=cold,
        cold_protocols=cold_protocols, cold_runs=cold_runs, quality_models=quality_models,
        sizes=tuple(_split(a.sizes, int)) if a.sizes else QUICK_SIZES if a.quick else FULL_SIZES,
        profile=a.profile, neo4j_heap=a.neo4j_heap,
        embed_texts=a.embed_texts or (256 if a.quick else 2_000),
        embed_repeats=a.embed_repeats or (1 if a.quick else 3),
        endpoint_latency=a.endpoint_latency,
        endpoint_concurrency=concurrency, config=a.config,
        results_dir=a.results_dir, sources=tuple(a.sources))


def _subset(p: argparse.ArgumentParser, flag: str, text: str, allowed: Sequence[str]) -> tuple[str, ...]:
    """The comma-separated choices of ``flag`` in the order of ``allowed`` (at least one, all
    of them allowed; else the parser's error)."""
    chosen = set(_split(text, str))
    if not chosen or not chosen <= set(allowed):
        p.error(f"{flag}: choose from {', '.join(allowed)}")
    return tuple(x for x in allowed if x in chosen)


def _split(text: str, kind: type) -> list[Any]:
    return [kind(x.strip()) for x in text.split(",") if x.strip()]


def _csv(values: Sequence[int]) -> str:
    return ",".join(map(str, values))
