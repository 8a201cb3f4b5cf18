"""Run files: one JSON per run of ``python -m bench`` (``bench/results/<UTC time>.json``)
holding only what that run measured, with the machine, library versions, commit and options,
so any number can be traced back. The report reads them through :func:`load`.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

#: Section keys renamed since older run files were written.
LEGACY_KEYS = {"scale": "paper_scale"}


def timestamp() -> str:
    """The id of a run started now (UTC; file names sort by time)."""
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")


def reserve(results_dir: Path) -> str:
    """The id of a run started now, its file created empty at once: a second process started
    in the same second takes ``<time>-2`` instead of overwriting the first one's file."""
    results_dir.mkdir(parents=True, exist_ok=True)
    stamp, n = timestamp(), 1
    while True:
        run_id = stamp if n == 1 else f"{stamp}-{n}"
        try:
            (results_dir / f"{run_id}.json").open("x").close()
            return run_id
        except FileExistsError:
            n += 1


def created() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def write_json(run: dict[str, Any], results_dir: Path) -> Path:
    """Write the run as ``<results_dir>/<run['id']>.json`` and return the path. A run file
    has ``id``, ``created``, ``command``, ``environment``, ``parameters`` and, under its
    section key, each section's result."""
    results_dir.mkdir(parents=True, exist_ok=True)
    path = results_dir / f"{run['id']}.json"
    text = json.dumps(run, indent=1, sort_keys=True, default=_jsonable)
    path.write_text(NUMBER_LIST.sub(lambda m: "[" + ", ".join(x.strip() for x in m[1].split(",")) + "]",
                                    text) + "\n")
    return path


#: A JSON list of numbers as ``indent`` writes it, one per line: a file keeps such lists (per-user
#: values, curves) on one line each, a third of the size and still one diff line per list.
NUMBER_LIST = re.compile(r"\[\s*(-?[0-9][0-9.eE+-]*(?:,\s*-?[0-9][0-9.eE+-]*)*)\s*\]")


def _jsonable(value: Any) -> Any:
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    if hasattr(value, "tolist"):
        return value.tolist()
    return str(value)


@dataclass(frozen=True, eq=False)  # one object per file read: compared by identity
class Run:
    """One run file as read back: its name and its content (legacy section keys renamed)."""

    path: Path
    doc: dict[str, Any]

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def commit(self) -> str:
        git = self.doc["environment"]["git"]
        return str(git.get("short") or git.get("commit", "unknown"))[:8]

    @property
    def dirty(self) -> bool:
        return bool(self.doc["environment"]["git"].get("dirty"))

    @property
    def date(self) -> str:
        return str(self.doc.get("created", ""))


def load(paths: list[Path]) -> list[Run]:
    """The readable run files among ``paths``, newest first (names are UTC timestamps)."""
    out = []
    for path in sorted(paths, key=lambda p: p.name, reverse=True):
        try:
            doc = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError):
            continue
        for old, new in LEGACY_KEYS.items():
            if old in doc and new not in doc:
                doc[new] = doc.pop(old)
        out.append(Run(path, doc))
    return out


def run_files(results_dir: Path) -> list[Path]:
    """Every run file in ``results_dir``."""
    return sorted(results_dir.glob("*.json"))
