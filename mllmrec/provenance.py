"""Provenance of stage runs: every stage records a ``(:StageRun)`` node with its parameters,
a fingerprint of its inputs and parameters, timings, counts and outcome."""
from __future__ import annotations

import hashlib
import json
import logging
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mllmrec import __version__
from mllmrec.db import Graph

log = logging.getLogger(__name__)


def code_version() -> str:
    """Package version plus the git commit when running from a checkout."""
    root = Path(__file__).resolve().parent.parent
    try:
        sha = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root,
                             capture_output=True, text=True, timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        sha = ""
    return f"{__version__}+{sha}" if sha else __version__


def fingerprint(*parts: Any) -> str:
    """A stable short hash of JSON-serialisable parts (parameters, input summaries)."""
    text = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass
class StageRecord:
    """Counts a running stage reports; written when the stage finishes."""

    id: str
    counts: dict[str, Any] = field(default_factory=dict)
    started: float = field(default_factory=time.perf_counter)


@contextmanager
def stage_run(graph: Graph, dataset: str, stage: str, params: dict[str, Any],
              fingerprint_: str | None = None) -> Iterator[StageRecord]:
    """Record a stage run around a block: 'running' first, then 'ok' or 'failed' with the
    error. Counts set on the yielded record are stored with it."""
    rec = StageRecord(id=str(uuid.uuid4()))
    graph.run("stage/start", id=rec.id, dataset=dataset, stage=stage,
              params=json.dumps(params, sort_keys=True, default=str),
              fingerprint=fingerprint_ or fingerprint(params), code_version=code_version())
    try:
        yield rec
    except BaseException as exc:
        graph.run("stage/finish", id=rec.id, status="failed", counts=json.dumps(rec.counts),
                  error=f"{type(exc).__name__}: {exc}"[:2000])
        raise
    graph.run("stage/finish", id=rec.id, status="ok",
              counts=json.dumps(rec.counts, default=str), error=None)
    log.info("%s/%s finished in %.1fs: %s", dataset, stage, time.perf_counter() - rec.started, rec.counts)
