"""Provenance of stage runs: every stage records a ``(:StageRun)`` node with its parameters,
a fingerprint of its inputs and parameters, timings, counts and outcome."""
from __future__ import annotations

import hashlib
import json
import logging
import os
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mllmrec import __version__
from mllmrec.db import Store

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


def process_identity() -> dict[str, Any]:
    """``host`` and ``pid`` of this process, stored on the runs it records."""
    return {"host": socket.gethostname(), "pid": os.getpid()}


def pid_alive(pid: int) -> bool:
    """Whether a process with this id runs on this host (a zombie counts as running)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def mark_interrupted(store: Store, dataset: str) -> list[str]:
    """Mark the dataset's StageRun and TrainingRun records left 'running' by a process that
    no longer runs on this host as 'interrupted'; returns their ids. Records of other hosts
    are left alone (their processes cannot be checked from here)."""
    me = process_identity()
    gone = [r["id"] for r in store.run("ops/running_records", dataset=dataset)
            if r["host"] == me["host"] and isinstance(r["pid"], int) and r["pid"] != me["pid"]
            and not pid_alive(r["pid"])]
    if gone:
        store.run("ops/mark_interrupted", dataset=dataset, ids=gone)
        log.warning("%d run(s) of '%s' were killed before finishing; marked interrupted: %s",
                    len(gone), dataset, ", ".join(gone))
    return gone


@dataclass
class StageRecord:
    """Counts a running stage reports; written when the stage finishes."""

    id: str
    counts: dict[str, Any] = field(default_factory=dict)
    started: float = field(default_factory=time.perf_counter)


@contextmanager
def stage_run(store: Store, dataset: str, stage: str, params: dict[str, Any],
              fingerprint_: str | None = None) -> Iterator[StageRecord]:
    """Record a stage run around a block: 'running' first, then 'ok' or 'failed' with the
    error. Counts set on the yielded record are stored with it. Earlier runs of the dataset
    whose process was killed are marked 'interrupted' first."""
    mark_interrupted(store, dataset)
    rec = StageRecord(id=str(uuid.uuid4()))
    store.run("stage/start", id=rec.id, dataset=dataset, stage=stage,
              params=json.dumps(params, sort_keys=True, default=str),
              fingerprint=fingerprint_ or fingerprint(params), code_version=code_version(),
              **process_identity())
    try:
        yield rec
    except BaseException as exc:
        store.try_run("stage/finish", id=rec.id, status="failed",
                      counts=json.dumps(rec.counts, default=str),
                      error=f"{type(exc).__name__}: {exc}"[:2000])
        raise
    store.run("stage/finish", id=rec.id, status="ok",
              counts=json.dumps(rec.counts, default=str), error=None)
    log.info("%s/%s finished in %.1fs: %s", dataset, stage, time.perf_counter() - rec.started, rec.counts)
