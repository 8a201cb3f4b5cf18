"""``mllmrec retrain --every 6h``: run retrain cycles forever, one log line per cycle.

A failed cycle (busy lock, a stage error, an unreachable database) is logged and retried at
the next tick: only configuration errors, found before the first cycle, end the process with a
non-zero status. SIGTERM or SIGINT ends it cleanly with status 0: while waiting, at once;
during a cycle, by interrupting it (the running stage records itself as failed, the lock is
released, and serving stays on the last good run, exactly as for a crash).
"""
from __future__ import annotations

import logging
import re
import signal
import threading
import time
from collections.abc import Callable
from types import FrameType

from mllmrec.errors import ConfigError

log = logging.getLogger(__name__)

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


class Shutdown(BaseException):
    """Raised inside a running cycle when a stop signal arrives (BaseException so that no
    stage's ``except Exception`` swallows it)."""


def parse_interval(text: str) -> float:
    """Seconds in "90s", "15m", "6h", "1d", "1h30m" or a bare number of seconds."""
    text = text.strip().lower()
    if re.fullmatch(r"\d+(\.\d+)?", text):
        seconds = float(text)
    else:
        parts = re.findall(r"(\d+(?:\.\d+)?)([smhd])", text)
        if not parts or "".join(n + u for n, u in parts) != text:
            raise ConfigError(f"cannot read the interval '{text}': use e.g. 90s, 15m, 6h, 1d, 1h30m")
        seconds = sum(float(n) * _UNITS[u] for n, u in parts)
    if seconds <= 0:
        raise ConfigError(f"the interval must be positive, got '{text}'")
    return seconds


class Scheduler:
    """Calls ``cycle()`` every ``interval`` seconds (measured start to start; a cycle longer
    than the interval is followed at once by the next) until stopped."""

    def __init__(self, cycle: Callable[[], str], interval: float) -> None:
        self.cycle = cycle
        self.interval = interval
        self.stopping = threading.Event()
        self._in_cycle = False

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        log.info("received %s: shutting down", signal.Signals(signum).name)
        self.stopping.set()
        if self._in_cycle:
            self._in_cycle = False
            raise Shutdown()

    def run(self) -> int:
        """Loop until SIGTERM/SIGINT; returns the number of cycles run."""
        previous = {s: signal.signal(s, self._on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
        n = 0
        try:
            while not self.stopping.is_set():
                started = time.monotonic()
                n += 1
                self._run_one(n)
                self.stopping.wait(max(0.0, self.interval - (time.monotonic() - started)))
        except Shutdown:
            pass
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        log.info("scheduler stopped after %d cycle(s)", n)
        return n

    def _run_one(self, n: int) -> None:
        t0 = time.monotonic()
        self._in_cycle = True
        try:
            outcome = self.cycle()
            level, text = logging.INFO, f"ok: {outcome}"
        except Shutdown:
            log.warning("cycle %d interrupted by shutdown after %.1fs; last good run still serves",
                        n, time.monotonic() - t0)
            raise
        except Exception as exc:  # any failure waits for the next tick
            level, text = logging.ERROR, f"failed: {type(exc).__name__}: {exc}"
        finally:
            self._in_cycle = False
        log.log(level, "retrain cycle %d %s (%.1fs); next in %.0fs", n, text,
                time.monotonic() - t0, self.interval)
