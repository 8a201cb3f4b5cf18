"""``mllmrec neo4j install`` run twice at once: the second waits, then reuses the first's jars."""
from __future__ import annotations

import fcntl
import threading
import time
from pathlib import Path

import pytest

from mllmrec import neo4j_server as server
from mllmrec.errors import ServerError


def _jars(lib: Path) -> None:
    """What a finished install leaves: the server and Browser jars in the lib folder."""
    lib.mkdir(parents=True)
    for name in (f"neo4j-{server.NEO4J_VERSION}.jar", f"neo4j-browser-{server.BROWSER_VERSION}.jar"):
        (lib / name).write_bytes(b"")


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty jar cache and no Maven on PATH, so any attempt to fetch fails loudly."""
    monkeypatch.setenv("MLLMREC_CACHE", str(tmp_path))
    monkeypatch.setenv("PATH", str(tmp_path / "no-tools"))
    root = server.cache_dir()
    root.mkdir(parents=True)
    return root


def test_an_install_waits_for_the_running_one_and_reuses_its_jars(cache: Path) -> None:
    outcome: dict[str, object] = {}

    def second() -> None:
        try:
            outcome["lib"] = server.install()
        except Exception as exc:  # noqa: BLE001 - the assertion below reports it
            outcome["error"] = exc

    with open(cache / "install.lock", "a") as first:  # the first install, mid-download
        fcntl.flock(first, fcntl.LOCK_EX)
        waiting = threading.Thread(target=second)
        waiting.start()
        time.sleep(0.5)
        assert waiting.is_alive(), outcome  # blocked on the lock, not racing into lib.partial
        _jars(server.lib_dir())
        fcntl.flock(first, fcntl.LOCK_UN)
    waiting.join(timeout=10)
    assert outcome == {"lib": server.lib_dir()}


def test_an_install_without_maven_names_the_missing_tool(cache: Path) -> None:
    with pytest.raises(ServerError, match="'mvn' is not on PATH"):
        server.install()
    assert not server.lib_dir().exists()
