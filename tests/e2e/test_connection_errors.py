"""Connection problems end in one line that says what to check, within 10 s, exit code 1 and
no traceback (only with -vv): a URI that is not Bolt, an unknown database, wrong credentials,
and a port where another service answers (HTTP, or silence). Each runs the real command in
its own process against real peers."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.e2e

LIMIT = 10.0


def _env(neo4j, **extra: str) -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "NEO4J_URI": neo4j.uri,
           "NEO4J_USER": neo4j.user, "MLLMREC_NEO4J_HOME": str(neo4j.home)}
    env.pop("NEO4J_PASSWORD", None)  # the server's own, or its home's credentials file
    if neo4j.password:
        env["NEO4J_PASSWORD"] = neo4j.password
    return {**env, **extra}


def _start(args: list[str], env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", "from mllmrec.cli import main; main()", *args],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.fixture(scope="module")
def startup(neo4j_settings) -> float:
    """Seconds this machine needs to start the command at all (imports), not counted."""
    t0 = time.monotonic()
    proc = _start(["--version"], _env(neo4j_settings))
    proc.communicate(timeout=120)
    return time.monotonic() - t0


def _run(args: list[str], env: dict[str, str], startup: float) -> tuple[str, float]:
    t0 = time.monotonic()
    proc = _start(args, env)
    _, err = proc.communicate(timeout=120)
    elapsed = time.monotonic() - t0 - startup
    assert proc.returncode == 1, err
    return err, elapsed


def _one_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in err
    return lines[0]


@pytest.fixture(scope="module")
def fake_peer() -> Iterator[dict[str, int]]:
    """Two real non-Bolt peers on free ports: one answers like an HTTP server, one accepts
    and never says anything."""
    socks, stop = {}, threading.Event()

    def serve(sock: socket.socket, reply: bytes | None) -> None:
        sock.settimeout(0.2)
        held = []
        while not stop.is_set():
            try:
                conn, _ = sock.accept()
            except OSError:
                continue
            if reply is None:
                held.append(conn)  # silent: keep it open, say nothing
                continue
            try:
                conn.recv(64)
                conn.sendall(reply)
            finally:
                conn.close()
        for conn in held:
            conn.close()

    threads = []
    for name, reply in (("http", b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"),
                        ("silent", None)):
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        socks[name] = sock
        threads.append(threading.Thread(target=serve, args=(sock, reply), daemon=True))
        threads[-1].start()
    yield {name: sock.getsockname()[1] for name, sock in socks.items()}
    stop.set()
    for t in threads:
        t.join(timeout=5)
    for sock in socks.values():
        sock.close()


CASES = {
    "http URI": ({"NEO4J_URI": "http://127.0.0.1:7474"}, "is not a Neo4j Bolt address"),
    "garbage URI": ({"NEO4J_URI": "garbage"}, "is not a Neo4j Bolt address"),
    "unknown database": ({"NEO4J_DATABASE": "nosuchdb"}, "has no database 'nosuchdb'"),
    "wrong password": ({"NEO4J_PASSWORD": "wrong-password"}, "refused the credentials"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_configuration_faults_end_in_one_line(case, neo4j_settings, startup):
    extra, phrase = CASES[case]
    err, elapsed = _run(["stats"], _env(neo4j_settings, **extra), startup)
    line = _one_line(err)
    assert phrase in line, line
    assert elapsed < LIMIT, (elapsed, line)


@pytest.mark.parametrize("peer", ["http", "silent"])
def test_wrong_service_on_the_port_ends_in_one_line(peer, neo4j_settings, fake_peer, startup):
    uri = f"bolt://127.0.0.1:{fake_peer[peer]}"
    err, elapsed = _run(["stats"], _env(neo4j_settings, NEO4J_URI=uri), startup)
    line = _one_line(err)
    assert f"cannot reach Neo4j at {uri}" in line and "NEO4J_URI" in line, line
    assert elapsed < LIMIT, (elapsed, line)


def test_traceback_only_with_vv(neo4j_settings, startup):
    err, _ = _run(["-vv", "stats"], _env(neo4j_settings, NEO4J_URI="garbage"), startup)
    assert "Traceback" in err and "error: NEO4J_URI 'garbage'" in err
