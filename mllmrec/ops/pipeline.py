"""``pipeline run``: ingest (when a source is given), describe, profile, embed, build-graph and
train, in order, skipping every stage whose inputs and parameters did not change since its
last successful run.

The skip rule: before a stage runs, the fingerprint of its parameters and inputs
(:meth:`mllmrec.ops.stages.Stage.input_fingerprint`; for ingest, a hash of the source frames)
is compared with the ``input_fingerprint`` stored on the stage's newest successful
``(:StageRun)``. Equal: skipped. Otherwise the stage runs (it records its own StageRun) and the
pipeline stores the fingerprint on that run. A failed stage stops the pipeline (later stages
would read incomplete inputs).
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

from loaders import load
from loaders.canonical import INTERACTION_COLUMNS, ITEM_COLUMNS, Catalogue
from mllmrec.config import Settings
from mllmrec.db import Store
from mllmrec.errors import MllmrecError
from mllmrec.ops.stages import INGEST, STAGES, Stage
from mllmrec.provenance import fingerprint

log = logging.getLogger(__name__)

RAN, SKIPPED, FAILED, NOT_RUN = "ran", "skipped", "failed", "not run"


@dataclass
class Source:
    """A source to ingest first: a loader format, its main path and optional extras
    (``posters`` for MovieLens, ``items`` for the metadata file of amazon/csv/mmrec, the
    ``domain`` of csv/amazon items), and whether to keep the latest of duplicate rows."""

    format: str
    path: Path
    posters: Path | None = None
    items: Path | None = None
    domain: str | None = None
    dedupe: bool = False

    def load(self) -> Catalogue:
        return load(self.format, self.path, posters=self.posters, items=self.items,
                    domain=self.domain)

    def params(self) -> dict[str, str]:
        return {"format": self.format, "path": str(self.path),
                "posters": str(self.posters or ""), "items": str(self.items or ""),
                "domain": self.domain or ""}


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
    if dataclasses.is_dataclass(result) and not isinstance(result, type):
        return {k: v for k, v in dataclasses.asdict(result).items()}
    return {"result": str(result)}


def source_fingerprint(cat: Catalogue, source: Source, settings: Settings) -> str:
    """Hash of the loaded frames (canonical columns only) and the ingest settings."""
    h = hashlib.sha256()
    for frame, cols in ((cat.interactions, INTERACTION_COLUMNS), (cat.items, ITEM_COLUMNS)):
        h.update(pd.util.hash_pandas_object(frame[list(cols)], index=False).to_numpy().tobytes())
    return fingerprint("ingest", INGEST.values(settings), cat.domain, source.dedupe, h.hexdigest())


def _last_fingerprint(store: Store, dataset: str, stage: str) -> str | None:
    rows = store.run("ops/last_input", dataset=dataset, stage=stage)
    return rows[0]["input_fingerprint"] if rows else None


def _tag(store: Store, dataset: str, stage: str, since: str, fp: str) -> None:
    if not store.run("ops/tag_stage_run", dataset=dataset, stage=stage, since=since, fingerprint=fp):
        log.warning("stage '%s' recorded no successful StageRun; it will not be skipped next time",
                    stage)


def _ingest(store: Store, settings: Settings, source: Source, force: bool) -> StepResult:
    from mllmrec.ingest import ingest

    t0 = time.perf_counter()
    cat = source.load()
    fp = source_fingerprint(cat, source, settings)
    if not force and _last_fingerprint(store, settings.dataset, "ingest") == fp:
        return StepResult("ingest", SKIPPED, time.perf_counter() - t0, note="source unchanged")
    since = store.run("ops/now")[0]["now"]
    report = ingest(store, settings, cat, source.params(), source.dedupe)
    _tag(store, settings.dataset, "ingest", since, fp)
    summary = {"users": report.users, "items": report.items, "interactions": report.interactions,
               "train/valid/test": "/".join(str(report.splits.get(s, 0)) for s in (0, 1, 2))}
    return StepResult("ingest", RAN, time.perf_counter() - t0, summary)


def run_stage(store: Store, settings: Settings, stage: Stage, force: bool = False,
              **kwargs: Any) -> StepResult:
    """Run one stage unless its inputs and parameters are unchanged;
    ``kwargs`` go to the entry point (e.g. retrain's ``serve=False`` for train)."""
    t0 = time.perf_counter()
    fp = stage.input_fingerprint(store, settings)
    if not force and _last_fingerprint(store, settings.dataset, stage.name) == fp:
        return StepResult(stage.name, SKIPPED, time.perf_counter() - t0,
                          note="inputs and parameters unchanged")
    since = store.run("ops/now")[0]["now"]
    result = stage.entry(store, settings, **kwargs)
    _tag(store, settings.dataset, stage.name, since, fp)
    return StepResult(stage.name, RAN, time.perf_counter() - t0, summary_dict(result))


def run_pipeline(store: Store, settings: Settings, source: Source | None = None,
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
                    step = _ingest(store, settings, source, "ingest" in forced)  # type: ignore[arg-type]
                else:
                    stage = next(s for s in stages if s.name == name)
                    step = run_stage(store, settings, stage, name in forced,
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
