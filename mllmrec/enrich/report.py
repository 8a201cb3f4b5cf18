"""What an enrichment stage did: counts, and one clear message per item that failed.

A failing item (missing or unreadable image, unreachable endpoint, empty text) never stops
a run: it is logged, counted here, and left to the next run.
"""
from __future__ import annotations

import logging
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)

MAX_MESSAGES = 100

# Kinds of per-item failure.
MISSING_IMAGE = "missing_image"
UNREADABLE_IMAGE = "unreadable_image"
ENDPOINT_ERROR = "endpoint_error"
EMPTY_OUTPUT = "empty_output"
EMPTY_TEXT = "empty_text"


class ItemFailure(Exception):
    """One item or user could not be processed; ``kind`` is one of the constants above."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


@dataclass
class EnrichSummary:
    """Counts of one stage run. ``generated``: outputs produced by a model this run;
    ``skipped``: already up to date; ``written``: nodes whose properties changed."""

    stage: str
    total: int = 0
    generated: int = 0
    skipped: int = 0
    written: int = 0
    failures: Counter = field(default_factory=Counter)
    messages: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
    started: float = field(default_factory=time.perf_counter)
    seconds: float = 0.0

    def fail(self, what: str, failure: ItemFailure) -> None:
        """Record and log one failed item (``what`` names it, e.g. "item 42")."""
        self.failures[failure.kind] += 1
        message = f"{what}: {failure.kind}: {failure}"
        log.warning(message)
        if len(self.messages) < MAX_MESSAGES:
            self.messages.append(message)

    @property
    def failed(self) -> int:
        return sum(self.failures.values())

    def finish(self) -> EnrichSummary:
        self.seconds = time.perf_counter() - self.started
        return self

    def counts(self) -> dict[str, Any]:
        """JSON-ready counts for the stage's provenance record."""
        return {"total": self.total, "generated": self.generated, "skipped": self.skipped,
                "written": self.written, "failed": self.failed, **dict(self.failures),
                **self.extra, "seconds": round(self.seconds, 3)}

    def lines(self) -> list[str]:
        """Human summary for the CLI."""
        out = [f"{self.stage}: {self.total:,} total, {self.generated:,} generated, "
               f"{self.skipped:,} up to date, {self.written:,} written, {self.failed:,} failed "
               f"in {self.seconds:.1f}s"]
        out += [f"  {k}: {v}" for k, v in sorted(self.extra.items())]
        out += [f"  {kind}: {n:,}" for kind, n in sorted(self.failures.items())]
        return out
