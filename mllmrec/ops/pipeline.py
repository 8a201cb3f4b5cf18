"""``pipeline run``: ingest (when a source is given), describe, profile, embed, build-graph and
train, in order, skipping every stage whose inputs and parameters did not change since its
last successful run.

The skip rule: before a stage runs, the fingerprint of its parameters and inputs
(:meth:`mllmrec.ops.stages.Stage.input_fingerprint`; for ingest, a hash of the source frames)
is compared with the ``input_fingerprint`` stored on the stage's newest successful
``(:StageRun)``. Equal: skipped. Otherwise the stage runs (it records its own StageRun) and the
pipeline stores the fingerprint on that run. A failed stage stops the pipeline (later stages
would read incomplete inputs); a stage whose code is not installed yet is reported as such.
"""
from __future__ import annotations

import dataclasses
import hashlib
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from tqdm.auto import tqdm

from loaders.canonical import INTERACTION_COLUMNS, ITEM_COLUMNS, Catalogue
from mllmrec.config import Settings
from mllmrec.db import Graph
from mllmrec.errors import MllmrecError, UnknownFormatError
from mllmrec.ops.stages import STAGES, Stage
from mllmrec.provenance import fingerprint

log = logging.getLogger(__name__)

RAN, SKIPPED, MISSING, FAILED, NOT_RUN = "ran", "skipped", "not available yet", "failed", "not run"


@dataclass
class Source:
    """A source to ingest first: a loader format, its main path and optional extras
    (``posters`` for MovieLens, ``items`` for the metadata file of amazon/csv/mmrec)."""

    format: str
    path: Path
    posters: Path | None = None
    items: Path | None = None

    def load(self) -> Catalogue:
        if self.format == "movielens":
            from loaders.movielens import load_movielens
            return load_movielens(self.path, self.posters)
        if self.format == "amazon":
            from loaders.amazon import load_amazon
            return load_amazon(self.path, self.items, None)
        if self.format == "mmrec":
            from loaders.mmrec import load_mmrec
            return load_mmrec(self.path, None, self.items)
        if self.format == "csv":
            from loaders.csv_files import load_csv
            return load_csv(self.path, self.items, "products")
        raise UnknownFormatError(f"unknown source format '{self.format}'; known formats: "
                                 "movielens, amazon, mmrec, csv")

    def params(self) -> dict[str, str]:
        return {"format": self.format, "path": str(self.path),
                "posters": str(self.posters or ""), "items": str(self.items or "")}


@dataclass
class StepResult:
    """What happened to one stage in one pipeline run."""

    stage: str
    status: str
    seconds: float = 0.0
    summary: dict[str, Any] = field(default_factory=dict)
    note: str = ""


@dataclass
class PipelineReport:
    dataset: str
    mode: str
    steps: list[StepResult] = field(default_factory=list)

    def step(self, stage: str) -> StepResult | None:
        return next((s for s in self.steps if s.stage == stage), None)

    @property
    def seconds(self) -> float:
        return sum(s.seconds for s in self.steps)


def enrichment_mode(settings: Settings) -> str:
    """One line saying how item and user texts are produced in this run."""
    e = settings.enrich
    scope = ("" if e.history_scope == "train" else
             f"; LEAKY history scope '{e.history_scope}': validation and test items in user texts")
    if e.no_llm:
        return ("--no-llm: item text = metadata only (no image descriptions); "
                "user text = the behavioural list of training items (no LLM reasoning)" + scope)
    where = f"endpoint {e.openai_base_url}" if e.backend == "openai" else "local transformers"
    return (f"LLM ({where}): VLM {e.vlm_model} describes images, LLM {e.llm_model} writes "
            "preferences" + scope)


def summary_dict(result: Any) -> dict[str, Any]:
    """A stage's returned summary (dataclass, dict, object with counts(), None) as a dict."""
    if result is None:
        return {}
    if isinstance(result, dict):
        return dict(result)
    if callable(getattr(result, "counts", None)):
        return dict(result.counts())
    if dataclasses.is_dataclass(result):
        return {k: v for k, v in dataclasses.asdict(result).items()}
    return {"result": str(result)}


def source_fingerprint(cat: Catalogue, source: Source, settings: Settings) -> str:
    """Hash of the loaded frames (canonical columns only) and the ingest settings."""
    h = hashlib.sha256()
    for frame, cols in ((cat.interactions, INTERACTION_COLUMNS), (cat.items, ITEM_COLUMNS)):
        h.update(pd.util.hash_pandas_object(frame[list(cols)], index=False).to_numpy().tobytes())
    ingest = settings.ingest.model_dump(mode="json", exclude={"batch_size"})
    return fingerprint("ingest", ingest, cat.domain, h.hexdigest())


def _last_fingerprint(graph: Graph, dataset: str, stage: str) -> str | None:
    rows = graph.run("ops/last_input", dataset=dataset, stage=stage)
    return rows[0]["input_fingerprint"] if rows else None


def _tag(graph: Graph, dataset: str, stage: str, since: str, fp: str) -> None:
    if not graph.run("ops/tag_stage_run", dataset=dataset, stage=stage, since=since, fingerprint=fp):
        log.warning("stage '%s' recorded no successful StageRun; it will not be skipped next time",
                    stage)


def _ingest(graph: Graph, settings: Settings, source: Source, force: bool) -> StepResult:
    from mllmrec.ingest import existing_splits, prepare, write

    t0 = time.perf_counter()
    cat = source.load()
    fp = source_fingerprint(cat, source, settings)
    if not force and _last_fingerprint(graph, settings.dataset, "ingest") == fp:
        return StepResult("ingest", SKIPPED, time.perf_counter() - t0, note="source unchanged")
    since = graph.run("ops/now")[0]["now"]
    prepared = prepare(cat, settings.ingest, existing_splits(graph, settings.dataset))
    params = {**source.params(), **settings.ingest.model_dump(mode="json", exclude={"batch_size"})}
    report = write(graph, settings.dataset, prepared, settings.ingest, params)
    _tag(graph, settings.dataset, "ingest", since, fp)
    summary = {"users": report.users, "items": report.items, "interactions": report.interactions,
               "train/valid/test": "/".join(str(report.splits.get(s, 0)) for s in (0, 1, 2))}
    return StepResult("ingest", RAN, time.perf_counter() - t0, summary)


def run_stage(graph: Graph, settings: Settings, stage: Stage, force: bool = False,
              **kwargs: Any) -> StepResult:
    """Run one stage unless its inputs and parameters are unchanged (or its code is missing);
    ``kwargs`` go to the entry point (e.g. retrain's ``serve=False`` for train)."""
    t0 = time.perf_counter()
    entry = stage.load()
    if entry is None:
        return StepResult(stage.name, MISSING, note=f"{stage.entry} is not available yet")
    fp = stage.input_fingerprint(graph, settings)
    if not force and _last_fingerprint(graph, settings.dataset, stage.name) == fp:
        return StepResult(stage.name, SKIPPED, time.perf_counter() - t0,
                          note="inputs and parameters unchanged")
    since = graph.run("ops/now")[0]["now"]
    result = entry(graph, settings, **kwargs)
    _tag(graph, settings.dataset, stage.name, since, fp)
    return StepResult(stage.name, RAN, time.perf_counter() - t0, summary_dict(result))


def run_pipeline(graph: Graph, settings: Settings, source: Source | None = None,
                 force: Sequence[str] = (), stages: Sequence[Stage] = STAGES,
                 on_step: Callable[[StepResult], None] | None = None,
                 progress: bool = True,
                 stage_kwargs: dict[str, dict[str, Any]] | None = None) -> PipelineReport:
    """Run ingest (if ``source``) and ``stages`` in order; ``force`` names stages to run even
    when unchanged ("all" forces every stage); ``stage_kwargs`` maps a stage name to extra
    arguments of its entry point. Raises the failing stage's error after reporting it through
    ``on_step``; the report of what ran is attached as ``exc.report``."""
    report = PipelineReport(settings.dataset, enrichment_mode(settings))
    names = (["ingest"] if source else []) + [s.name for s in stages]
    forced = set(names) if "all" in force else set(force)
    unknown = forced - set(names)
    if unknown:
        raise MllmrecError(f"--force names unknown stage(s) {sorted(unknown)}; stages: {names}")
    bar = tqdm(total=len(names), desc="pipeline", unit="stage", disable=not progress,
               position=0)
    try:
        for name in names:
            bar.set_postfix_str(name)
            t0 = time.perf_counter()
            try:
                if name == "ingest":
                    step = _ingest(graph, settings, source, "ingest" in forced)  # type: ignore[arg-type]
                else:
                    stage = next(s for s in stages if s.name == name)
                    step = run_stage(graph, settings, stage, name in forced,
                                     **(stage_kwargs or {}).get(name, {}))
            except BaseException as exc:
                step = StepResult(name, FAILED, time.perf_counter() - t0,
                                  note=f"{type(exc).__name__}: {exc}")
                report.steps.append(step)
                report.steps += [StepResult(n, NOT_RUN) for n in names[names.index(name) + 1:]]
                if on_step:
                    on_step(step)
                exc.report = report  # type: ignore[attr-defined]
                raise
            report.steps.append(step)
            if on_step:
                on_step(step)
            bar.update(1)
    finally:
        bar.close()
    return report
