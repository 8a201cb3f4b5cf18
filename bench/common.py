"""What every benchmark needs: the machine and software it ran on, a Neo4j server to run
against, and one way to time a block and read its peak memory.

Numbers in the report are only comparable when the report says where they came from, so
:func:`environment` collects the CPU, cores, RAM, OS, library versions and the git commit
(with a flag when the tree had uncommitted changes).
"""
from __future__ import annotations

import hashlib
import logging
import os
import platform
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.sparse as sp

from bench.options import RESULTS
from mllmrec.config import Neo4jSettings, Settings, load_settings

if TYPE_CHECKING:
    from mllmrec.train.data import TrainData

log = logging.getLogger(__name__)

REPO = Path(__file__).resolve().parent.parent
#: Where the real datasets are (MovieLens 100K and its posters); ``$MLLMREC_DATA`` overrides.
DATA = Path(os.environ.get("MLLMREC_DATA", REPO.parent / "shared" / "data"))
#: Set before torch is imported (``bench/__main__.py``): offline hubs, and OpenMP threads that
#: wait passively. Spinning waits made torch 10-25x slower when the cores are shared with other
#: busy processes (measured here: a BPR-MF epoch on ML-100K took 18 s spinning, 0.96 s passive).
ENVIRONMENT = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "DGLBACKEND": "pytorch",
               "TOKENIZERS_PARALLELISM": "false", "OMP_WAIT_POLICY": "PASSIVE"}
PACKAGES = ("torch", "dgl", "numpy", "scipy", "pandas", "neo4j", "sentence-transformers",
            "transformers", "matplotlib")


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _ram_gb() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024 ** 2, 1)
    except OSError:
        pass
    return None


def load_average() -> list[float]:
    """1, 5 and 15 minute load averages: on a shared machine, how busy it was."""
    return [round(x, 2) for x in os.getloadavg()] if hasattr(os, "getloadavg") else []


def machine() -> dict[str, Any]:
    """CPU model, logical cores usable by this process, RAM, OS and the current load."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {
        "cpu": _cpu_model(),
        "cores": cores,
        "ram_gb": _ram_gb(),
        "os": f"{platform.system()} {platform.release()}",
        "load_average": load_average(),
    }


def versions() -> dict[str, str]:
    """Python, the installed versions of the libraries the numbers depend on, and the Neo4j
    server version the project runs."""
    from mllmrec.neo4j_server import NEO4J_VERSION

    out = {"python": platform.python_version(), "neo4j-server": NEO4J_VERSION}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def git_state(repo: Path = REPO) -> dict[str, Any]:
    """The commit the code ran from and whether the working tree had changes. The bench's own
    outputs (``bench/results/``: run files, the rebuilt report, plots) do not count: a run that
    rewrites the report must not mark the next run of the same code as modified, or the report
    would refuse to join the two."""
    def git(*args: str) -> str:
        try:
            return subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True,
                                  timeout=10).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""

    commit = git("rev-parse", "HEAD")
    dirty = bool(git("status", "--porcelain", "--untracked-files=no", "--", ".",
                     f":(exclude){RESULTS.relative_to(REPO)}"))
    return {"commit": commit or "unknown", "short": commit[:8] or "unknown", "dirty": dirty}


def environment() -> dict[str, Any]:
    """Everything :mod:`bench.report` prints about where a run happened."""
    return {"machine": machine(), "versions": versions(), "git": git_state()}


def enrichment_note(settings: Settings) -> str:
    """How the item and user texts of a quality table were made, in one sentence."""
    if settings.enrich.no_llm:
        return ("Enrichment ran the --no-llm path (no generative model is available on this "
                "machine): item text is the metadata, the user text is the behavioural list of "
                "training items, both encoded with all-MiniLM-L6-v2.")
    return f"Enrichment used {settings.enrich.vlm_model} / {settings.enrich.llm_model}."


# --------------------------------------------------------------------------- Neo4j server


@contextmanager
def neo4j_for_bench(heap: str = "2g", pagecache: str = "1g") -> Iterator[Neo4jSettings]:
    """The server to benchmark against: the one ``NEO4J_URI`` names if set, else a fresh
    local server on free ports in a temporary home (:func:`mllmrec.neo4j_server.temporary`,
    as the test fixtures use), stopped and deleted afterwards so a benchmark never touches
    the developer database."""
    from mllmrec import neo4j_server

    if os.environ.get("NEO4J_URI"):
        yield load_settings().neo4j
        return
    with neo4j_server.temporary(heap=heap, pagecache=pagecache,
                                prefix="mllmrec-bench-neo4j-") as settings:
        log.info("temporary Neo4j on %s (home %s)", settings.uri, settings.home)
        yield settings


def server_cpu_seconds(settings: Neo4jSettings) -> float | None:
    """User+system CPU seconds so far of the local Neo4j server process (None when it is not
    a local server with a pid file). On a shared machine the server's CPU seconds tell a slow
    stage apart from a busy machine."""
    from mllmrec.neo4j_server import ServerPaths, read_pid

    pid = read_pid(ServerPaths(Path(settings.home)))
    if pid is None:
        return None
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# --------------------------------------------------------------------------- measuring


def _status_kb(field_name: str) -> int | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field_name + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return None


def _reset_peak() -> bool:
    """Reset the kernel's peak-RSS mark of this process (Linux >= 4.0); False if refused."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


@dataclass
class Measurement:
    """Wall time of a block and the peak resident memory of this Python process during it
    (the Neo4j server is a separate JVM with a fixed heap and is not included)."""

    seconds: float = 0.0
    peak_rss_mb: float | None = None
    start_rss_mb: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class _Sampler(threading.Thread):
    """Polls RSS when the kernel's peak mark cannot be reset (fallback only)."""

    def __init__(self, interval: float = 0.05) -> None:
        super().__init__(daemon=True)
        self.interval = interval
        self.peak_kb = 0
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.is_set():
            self.peak_kb = max(self.peak_kb, _status_kb("VmRSS") or 0)
            self._stop_event.wait(self.interval)

    def stop(self) -> int:
        self._stop_event.set()
        self.join()
        return max(self.peak_kb, _status_kb("VmRSS") or 0)


@contextmanager
def measure() -> Iterator[Measurement]:
    """Time a block and record its peak RSS in MiB::

        with measure() as m:
            work()
        m.seconds, m.peak_rss_mb
    """
    m = Measurement()
    start_kb = _status_kb("VmRSS")
    m.start_rss_mb = start_kb / 1024 if start_kb is not None else None
    exact = _reset_peak()
    sampler = None if exact else _Sampler()
    if sampler:
        sampler.start()
    t0 = time.perf_counter()
    try:
        yield m
    finally:
        m.seconds = time.perf_counter() - t0
        peak_kb = _status_kb("VmHWM") if exact else sampler.stop()  # type: ignore[union-attr]
        m.peak_rss_mb = peak_kb / 1024 if peak_kb is not None else None


def split_fingerprint(data: TrainData) -> str:
    """A digest of the users, items and every split's interactions: two runs' results of one
    seed are joined only when their splits are this same split."""
    digest = hashlib.sha256()
    for ids in (data.user_ids, data.item_ids):
        digest.update("\n".join(map(str, ids)).encode())
    for split in sorted(data.splits):
        m = sp.csr_matrix(data.splits[split])
        m.sort_indices()
        digest.update(m.indptr.astype(np.int64).tobytes())
        digest.update(m.indices.astype(np.int64).tobytes())
    return digest.hexdigest()[:16]
