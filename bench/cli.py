"""What ``python -m bench`` does with its options: run the chosen sections against one
Neo4j server (a temporary one unless ``$NEO4J_URI`` names one), write the run's JSON after
every section, then rebuild ``bench/results/REPORT.md``; or, for ``report``, only rebuild the
report from run files already written."""
from __future__ import annotations

import logging
import os
import signal
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench.common import environment, load_average, neo4j_for_bench
from bench.context import Context
from bench.options import ON_DATASET, Options, parse
from bench.results import created, reserve, write_json
from mllmrec.config import Neo4jSettings, Settings, load_settings
from mllmrec.db import connect

log = logging.getLogger("bench")


def main(argv: Sequence[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    options = parse(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s",
                        datefmt="%H:%M:%S")
    logging.getLogger("neo4j").setLevel(logging.ERROR)  # schema/property notifications
    from bench import report

    if options.report_only:
        path = report.write_report(options.results_dir, list(options.sources) or None)
        log.info("report rebuilt: %s", path)
        return
    # SIGTERM unwinds like Ctrl-C, so the temporary Neo4j is stopped and deleted.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    path = measure(options, "python -m bench " + " ".join(argv))
    log.info("run written to %s; report: %s", path, report.write_report(options.results_dir))


def base_settings(options: Options, neo4j: Neo4jSettings | None, runs_dir: Path) -> Settings:
    """The configuration every benchmark starts from: the user's config, the bench server,
    and the protocol caps. Without a configured generative model the no-LLM path is used."""
    settings = load_settings(options.config)
    overrides: dict[str, Any] = {
        "dataset": f"bench-{options.dataset}",
        "ingest.seed": options.seed,
        "train.seed": options.seed,
        "train.epochs": options.max_epochs,
        "train.patience": options.patience,
        "train.runs_dir": str(runs_dir),
        "train.device": "cpu" if settings.train.device == "auto" else settings.train.device,
    }
    if settings.train.threads is None:
        overrides["train.threads"] = 1  # measured faster on an oversubscribed 2-core machine
    if not (settings.enrich.backend == "openai" and settings.enrich.openai_base_url):
        overrides["enrich.no_llm"] = True
    settings = settings.with_overrides(overrides)
    if neo4j is not None:
        settings.neo4j = neo4j
    return settings


@contextmanager
def _server(options: Options) -> Iterator[Neo4jSettings | None]:
    if not options.needs_neo4j:
        yield None
        return
    with neo4j_for_bench(heap=options.neo4j_heap) as neo4j:
        yield neo4j


def measure(options: Options, command: str) -> Path:
    """Run ``options.sections`` in order; returns the run's JSON file."""
    # Import every section now: a run takes long, and modules edited meanwhile must not mix
    # with the ones already loaded.
    import mllmrec.enrich.describe  # noqa: F401
    import mllmrec.enrich.embed  # noqa: F401
    import mllmrec.enrich.profile  # noqa: F401
    import mllmrec.graph.build  # noqa: F401
    import mllmrec.train.trainer  # noqa: F401
    from bench import (
        ablation,
        cold_start,
        components,
        embed_paths,
        embed_scale,
        encoder_precision,
        paper_scale,
        protocol,
        quality,
        scaling_curve,
        stages,
        train_parallel,
        train_speed,
        tune_overhead,
        tune_study,
    )

    sections: dict[str, Callable[[Context], None]] = {
        "protocol": protocol.section, "quality": quality.section, "ablation": ablation.section,
        "scaling": scaling_curve.section, "paper-scale": paper_scale.section,
        "embed-scale": embed_scale.section, "components": components.section,
        "train-speed": train_speed.section,
        "train-parallel": train_parallel.section, "cold-start": cold_start.section,
        "tune": tune_study.section, "encoder-precision": encoder_precision.section,
        "tune-overhead": tune_overhead.section, "embed-paths": embed_paths.section}
    started = time.perf_counter()
    doc: dict[str, Any] = {"id": reserve(options.results_dir), "created": created(),
                           "command": command, "environment": environment()}
    write_json(doc, options.results_dir)  # the reserved file holds a run, if one without sections
    with tempfile.TemporaryDirectory(prefix="mllmrec-bench-runs-") as runs_dir, \
            _server(options) as neo4j:
        settings = base_settings(options, neo4j, Path(runs_dir))
        doc["parameters"] = {**options.parameters(), "no_llm": settings.enrich.no_llm,
                             "graph": settings.graph.model_dump(), "device": settings.train.device,
                             "train_threads": settings.train.threads,
                             "OMP_WAIT_POLICY": os.environ.get("OMP_WAIT_POLICY"),
                             "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS")}
        store = connect(neo4j) if neo4j is not None else None
        ctx = Context(options, settings, doc, store)
        try:
            if set(ON_DATASET) & set(options.sections):
                stages.section(ctx)  # the data and first training run the others reuse
            for name in options.sections:
                if name in sections:
                    sections[name](ctx)
        finally:
            if store is not None:
                store.close()
    doc["seconds"] = time.perf_counter() - started
    doc["load_average_end"] = load_average()
    return write_json(doc, options.results_dir)
