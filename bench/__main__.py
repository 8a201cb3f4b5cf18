"""``python -m bench``: run the benchmarks and regenerate ``bench/results/REPORT.md``.

Sections (``--only`` picks some; the report borrows the others from the newest earlier run
and says so):

- ``stages``: every pipeline stage on the dataset (ingest, describe, profile, embed,
  build-graph, train MLLMRec), time, throughput, peak memory;
- ``protocol``: how much the published protocol (user texts from all splits, grid choice on
  test) inflates MLLMRec's Recall/NDCG@20 (``bench/protocol.py``, ``bench/grid.py``);
- ``quality``: MLLMRec, LightGCN and BPR-MF on the same split, trained to early stopping with
  several seeds, Recall/NDCG@10/20 (mean +- std) on valid and test at the best validation
  epoch, training curves, a Wilcoxon signed-rank test over users against the best baseline;
- ``ablation``: the paper's ablation variants through the real trainer, same seeds;
- ``scaling``: ingest, graph build and one epoch on synthetic data of growing size;
- ``components``: the per-stage scripts of the other issues (``bench/ingest.py``, ...);
- ``scale`` (``--scale sports``): an Amazon-Sports-sized catalogue through every stage, each
  beside a reference measured in the same run (``bench/scale.py``).

Runs against a temporary Neo4j it starts and deletes (or ``$NEO4J_URI``'s server, using only
datasets named ``bench-*``). ``--quick`` uses smaller sizes and epoch caps.
"""
from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("DGLBACKEND", "pytorch")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# OpenMP threads that spin while waiting make torch 10-25x slower when the cores are shared
# with other busy processes (measured here: a BPR-MF epoch on ML-100K took 18 s spinning,
# 0.96 s passive). Must be set before torch is imported.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from bench import report  # noqa: E402
from bench.common import REPO, environment, load_average, neo4j_for_bench  # noqa: E402
from bench.train_runs import MODEL_NAMES  # noqa: E402
from mllmrec.config import Settings, load_settings  # noqa: E402
from mllmrec.db import connect  # noqa: E402

log = logging.getLogger("bench")

SECTIONS = ("stages", "protocol", "quality", "ablation", "scaling", "components", "scale")
RESULTS = REPO / "bench" / "results"
DOCS = (REPO / "README.md", REPO / "docs" / "benchmarks.md")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dataset", default="ml-100k", help="dataset of stages/quality/ablation")
    p.add_argument("--quick", action="store_true",
                   help="small scaling sizes (10k-100k) and low epoch caps: minutes, not an hour")
    p.add_argument("--only", default=",".join(SECTIONS),
                   help=f"comma-separated sections to run (default all: {','.join(SECTIONS)})")
    p.add_argument("--seed", type=int, default=2025,
                   help="split seed, and the training seed of the stage table's run")
    p.add_argument("--seeds", default=None,
                   help="training seeds of protocol/quality/ablation, comma-separated (default "
                        "2025,2026,2027; the --seed value alone with --quick); the split stays fixed")
    p.add_argument("--max-epochs", type=int, default=None,
                   help="epoch cap per training run (default 1000, or 40 with --quick); "
                        "early stopping on validation Recall@20 still applies")
    p.add_argument("--grid-knn-k", default="5,10", help="protocol grid: knn_k values")
    p.add_argument("--grid-knn-jac", default="10", help="protocol grid: knn_jac values")
    p.add_argument("--grid-pure", default="0.7", help="protocol grid: pure values")
    p.add_argument("--protocol-scopes", default="train,all",
                   help="user-text scopes the protocol section trains (one per process lets two "
                        "processes share the work; the report joins their sections)")
    p.add_argument("--patience", type=int, default=None,
                   help="early-stopping patience (default 20 as in METHOD.md, 5 with --quick)")
    p.add_argument("--sizes", default=None,
                   help="scaling sizes in interactions, comma-separated (default 10000,100000,"
                        "1000000; 10000,30000,100000 with --quick)")
    p.add_argument("--scale", default=None, metavar="PROFILE",
                   help="run only the paper-scale profile (sports: 35,598 users, 18,357 items, "
                        "296,337 interactions; small: a quick check) through every stage, each "
                        "beside its reference: bench/scale.py. Implies --only scale")
    p.add_argument("--neo4j-heap", default="2g",
                   help="heap of the temporary Neo4j (default 2g). Training write-back promotes "
                        "a run in one transaction, which needs more than 2g at 1M interactions "
                        "(120k users): the full scaling curve takes 4g")
    p.add_argument("--config", default=None, help="YAML configuration file (as for mllmrec)")
    p.add_argument("--results-dir", type=Path, default=RESULTS)
    p.add_argument("--render", action="store_true",
                   help="run nothing: rebuild REPORT.md (and the doc blocks) from the newest "
                        "JSON in --results-dir, e.g. after an interrupted run")
    p.add_argument("--no-docs", action="store_true",
                   help="do not refresh the generated block in README.md / docs/benchmarks.md")
    args = p.parse_args(argv)
    if args.scale:
        from bench.scale import PROFILES

        if args.scale not in PROFILES:
            p.error(f"unknown --scale profile '{args.scale}'; choose from {', '.join(PROFILES)}")
        args.only = "scale"
    args.only = [s.strip() for s in args.only.split(",") if s.strip()]
    args.seeds = (tuple(int(x) for x in args.seeds.split(",") if x.strip()) if args.seeds
                  else (args.seed,) if args.quick else (args.seed, args.seed + 1, args.seed + 2))
    if args.seeds[0] != args.seed:
        p.error("--seeds must start with --seed (the stage table's run is the first seed)")
    unknown = sorted(set(args.only) - set(SECTIONS))
    if unknown:
        p.error(f"unknown section(s) {', '.join(unknown)}; choose from {', '.join(SECTIONS)}")
    return args


def base_settings(args: argparse.Namespace, neo4j: Any, runs_dir: Path) -> Settings:
    """The configuration every benchmark starts from: the user's config, the bench server,
    and the protocol caps. Without a configured generative model the no-LLM path is used."""
    settings = load_settings(args.config)
    overrides: dict[str, Any] = {
        "dataset": f"bench-{args.dataset}",
        "ingest.seed": args.seed,
        "train.seed": args.seed,
        "train.epochs": args.max_epochs or (40 if args.quick else 1000),
        "train.patience": args.patience or (5 if args.quick else 20),
        "train.runs_dir": str(runs_dir),
        "train.device": "cpu" if settings.train.device == "auto" else settings.train.device,
    }
    if "threads" in type(settings.train).model_fields and settings.train.threads is None:
        overrides["train.threads"] = 1  # measured faster on an oversubscribed 2-core machine
    if not (settings.enrich.backend == "openai" and settings.enrich.openai_base_url):
        overrides["enrich.no_llm"] = True
    settings = settings.with_overrides(overrides)
    settings.neo4j = neo4j
    return settings


def run(args: argparse.Namespace, argv: list[str]) -> Path:
    started = time.perf_counter()
    run_doc: dict[str, Any] = {
        "id": report.timestamp(),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "command": "python -m bench " + " ".join(argv),
        "environment": environment(),
    }
    sizes = tuple(int(s) for s in args.sizes.split(",")) if args.sizes else None
    with tempfile.TemporaryDirectory(prefix="mllmrec-bench-runs-") as runs_dir, \
            neo4j_for_bench(heap=args.neo4j_heap) as neo4j:
        settings = base_settings(args, neo4j, Path(runs_dir))
        run_doc["parameters"] = {
            "dataset": args.dataset, "quick": args.quick, "seed": args.seed,
            "seeds": list(args.seeds),
            "sections": ",".join(args.only), "max_epochs": settings.train.epochs,
            "patience": settings.train.patience, "no_llm": settings.enrich.no_llm,
            "graph": settings.graph.model_dump(), "device": settings.train.device,
            "OMP_WAIT_POLICY": os.environ.get("OMP_WAIT_POLICY"),
            "train_threads": getattr(settings.train, "threads", None),
        }
        graph = connect(neo4j)
        try:
            sections(args, settings, graph, run_doc, sizes)
        finally:
            graph.close()
    run_doc["seconds"] = time.perf_counter() - started
    run_doc["load_average_end"] = load_average()
    docs = () if args.no_docs else DOCS
    path = report.write_report(run_doc, args.results_dir, docs=docs)
    log.info("report written to %s (%.0f s)", path, run_doc["seconds"])
    return path


def sections(args: argparse.Namespace, settings: Settings, graph: Any, run_doc: dict[str, Any],
             sizes: tuple[int, ...] | None) -> None:
    """Run the chosen sections in order, saving the JSON after each so a crash keeps what
    was measured."""
    # Import every stage now: a run takes long, and modules edited meanwhile must not mix
    # with the ones already loaded.
    import mllmrec.enrich.describe  # noqa: F401
    import mllmrec.enrich.embed  # noqa: F401
    import mllmrec.enrich.profile  # noqa: F401
    import mllmrec.graph.build  # noqa: F401
    import mllmrec.train.trainer  # noqa: F401
    from bench import ablation, grid, protocol, scaling, stages

    def save() -> None:
        report.write_json(run_doc, args.results_dir)

    mllmrec_result = None
    needs_data = {"stages", "protocol", "quality", "ablation"} & set(args.only)
    if needs_data:
        log.info("== stages on %s", args.dataset)
        # the stage table's MLLMRec run is the first seed of quality and of the protocol's
        # training-only grid; a process running only the leaky scope does not need it
        needs_run = bool({"stages", "quality", "ablation"} & set(args.only)) or \
            "train" in args.protocol_scopes
        stage_rows, mllmrec_result = stages.run_stages(graph, settings, args.dataset,
                                                       train_model=needs_run)
        if "stages" in args.only:
            run_doc["stages"] = stage_rows
        save()
    mllmrec_agg = None
    def keep(section: str, **extra: Any) -> Callable[[dict[str, Any]], None]:
        """Store a section's partial result and save: an interrupted run keeps what finished."""
        def store(partial: dict[str, Any]) -> None:
            run_doc[section] = {**extra, **partial}
            save()
        return store

    mllmrec_agg = None
    if "protocol" in args.only:
        log.info("== protocol")
        points = grid.points({"knn_k": _values(args.grid_knn_k, int),
                              "knn_jac": _values(args.grid_knn_jac, int),
                              "pure": _values(args.grid_pure, float)})
        scopes = [x.strip() for x in args.protocol_scopes.split(",") if x.strip()]
        done = protocol.run_protocol(graph, settings, points, args.seeds, mllmrec_result,
                                     on_progress=keep("protocol", dataset=args.dataset,
                                                      note=_enrich_note(settings)),
                                     scopes=scopes)
        default = next((r for r in done["grid"].get("train", [])
                        if r["config"] == grid.built(settings)), None)
        mllmrec_agg = {**default, "model": "MLLMRec", "label": "MLLMRec"} if default else None
    if "quality" in args.only:
        log.info("== quality (seeds %s)", ",".join(map(str, args.seeds)))
        done = quality(graph, settings, args, mllmrec_result, mllmrec_agg, keep("quality"))
        mllmrec_agg = done["models"][0]
    if "ablation" in args.only:
        log.info("== ablation")
        ablation.run_ablation(graph, settings, args.dataset, mllmrec_agg, seeds=args.seeds,
                              on_progress=keep("ablation"), first=mllmrec_result)
    if "scaling" in args.only:
        log.info("== scaling")
        chosen = sizes or (scaling.QUICK_SIZES if args.quick else scaling.FULL_SIZES)
        run_doc["scaling"] = scaling.run_scaling(graph, settings, chosen, args.seed)
        save()
    if "scale" in args.only:
        from bench import scale

        log.info("== scale profile %s", args.scale or "sports")
        run_doc["scale"] = scale.run_scale(graph, settings, args.scale or "sports", args.seed)
        save()
    if "components" in args.only:
        from bench import components

        log.info("== components")
        run_doc["components"] = components.run_components(graph, settings, quick=args.quick)
        save()


QUALITY_ORDER = ("mllmrec", "bpr", "lightgcn")  # cheapest baseline first: a cut run keeps more


def quality(graph: Any, settings: Settings, args: argparse.Namespace,
            first: dict[str, Any] | None, mllmrec_agg: dict[str, Any] | None,
            on_progress: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    """MLLMRec (reused from the protocol section when it trained the default configuration
    with the same seeds), BPR-MF and LightGCN, each with every seed, and a paired test of
    MLLMRec against the baseline with the best mean validation Recall@20. ``on_progress``
    sees the section after each training run."""
    from bench.train_runs import repeat

    models: list[dict[str, Any]] = []
    for model in QUALITY_ORDER:
        if model == "mllmrec" and mllmrec_agg is not None:
            models.append(mllmrec_agg)
        else:
            models.append(repeat(
                graph, settings.with_overrides({"train.model": model}), args.seeds,
                first=first if model == "mllmrec" else None,
                on_run=lambda agg: on_progress(_quality_section(args, settings, [*models, agg]))))
        on_progress(_quality_section(args, settings, models))
    return _quality_section(args, settings, models)


def _quality_section(args: argparse.Namespace, settings: Settings,
                     models: list[dict[str, Any]]) -> dict[str, Any]:
    """The quality section of the models trained so far (the last may still lack seeds)."""
    from bench.train_runs import paired_test

    baselines = models[1:]
    best = max(baselines, key=lambda m: m["valid"]["recall@20"]) if baselines else None
    return {"dataset": args.dataset, "seed": args.seed, "seeds": list(args.seeds),
            "patience": settings.train.patience, "max_epochs": settings.train.epochs,
            "history_scope": settings.enrich.history_scope, "models": models,
            "missing": [MODEL_NAMES[m] for m in QUALITY_ORDER[len(models):]],
            "paired_test": paired_test(models[0], best) if best else None,
            "note": _enrich_note(settings)}


def _values(text: str, kind: type) -> tuple[Any, ...]:
    return tuple(kind(x) for x in text.split(",") if x.strip())


def _enrich_note(settings: Settings) -> str:
    if settings.enrich.no_llm:
        return ("Enrichment ran the --no-llm path (no generative model is available on this "
                "machine): item text is the metadata, the user text is the behavioural list of "
                "training items, both encoded with all-MiniLM-L6-v2.")
    return f"Enrichment used {settings.enrich.vlm_model} / {settings.enrich.llm_model}."


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s",
                        datefmt="%H:%M:%S")
    logging.getLogger("neo4j").setLevel(logging.ERROR)  # schema/property notifications
    args = parse_args(argv)
    if args.render:
        path = report.rerender(args.results_dir, docs=() if args.no_docs else DOCS)
        log.info("report rebuilt: %s", path)
        return
    # SIGTERM unwinds like Ctrl-C, so the temporary Neo4j is stopped and deleted.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    run(args, argv)


if __name__ == "__main__":
    main()
