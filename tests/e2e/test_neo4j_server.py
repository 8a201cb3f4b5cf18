"""The project's own local server, as the test session started it: Neo4j Browser answers
over HTTP and `mllmrec neo4j status` reports the server running."""
from __future__ import annotations

import json
import os
import socket
import stat
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from mllmrec import neo4j_server
from mllmrec.config import Neo4jSettings
from mllmrec.errors import ServerError
from tests.conftest import run_cli

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(bool(os.environ.get("NEO4J_URI")),
                       reason="NEO4J_URI names an external server; the local one is not running"),
]


def test_browser_answers(neo4j_settings):
    url = f"http://127.0.0.1:{neo4j_settings.http_port}/browser/"
    with urllib.request.urlopen(url, timeout=30) as response:
        body = response.read().decode("utf-8", errors="replace")
        assert response.status == 200
    assert "<title>Neo4j Browser</title>" in body


def test_status_reports_running(neo4j_settings, tmp_path):
    cfg = tmp_path / "mllmrec.yaml"
    cfg.write_text(f"neo4j:\n  home: {neo4j_settings.home}\n  bolt_port: {neo4j_settings.bolt_port}\n"
                   f"  http_port: {neo4j_settings.http_port}\n")
    result = run_cli(["--config", str(cfg), "neo4j", "status"], neo4j_settings)
    assert result.exit_code == 0, result.output
    out = result.output
    assert "running, pid" in out
    assert f"answers on 127.0.0.1:{neo4j_settings.bolt_port}" in out
    assert f"http://127.0.0.1:{neo4j_settings.http_port}/browser/" in out


def test_server_home_is_private(neo4j_settings):
    """Home 0700, and no file or folder of the store, logs, conf or credentials is readable
    by group or others (they are created that way, not chmod-ed afterwards)."""
    home = Path(neo4j_settings.home)
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    assert stat.S_IMODE((home / "credentials").stat().st_mode) == 0o600
    exposed = [str(p) for p in home.rglob("*")
               if not p.is_symlink() and stat.S_IMODE(p.stat().st_mode) & 0o077]
    assert exposed == []


def test_discovery_advertises_the_configured_bolt_port(neo4j_settings):
    url = f"http://127.0.0.1:{neo4j_settings.http_port}/"
    with urllib.request.urlopen(url, timeout=30) as response:
        found = json.loads(response.read())
    assert found["bolt_direct"] == f"bolt://127.0.0.1:{neo4j_settings.bolt_port}"


def test_busy_http_port_is_refused_before_start(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        settings = Neo4jSettings(home=tmp_path / "home", bolt_port=neo4j_server.free_port(),
                                 http_port=port)
        with pytest.raises(ServerError, match=f"HTTP port {port} is already in use"):
            neo4j_server.start(settings)
    assert not (tmp_path / "home" / "data").exists()


def test_initial_password_never_on_a_command_line(tmp_path):
    """Watch every process's command line while the admin tool sets the password of a
    fresh store: the tool runs, and the password is in none of them."""
    paths = neo4j_server.ServerPaths(tmp_path / "home")
    settings = Neo4jSettings(home=paths.home)
    neo4j_server.make_private_dir(paths.data)
    neo4j_server._write_conf(paths, settings)
    seen: list[str] = []
    worker = threading.Thread(target=neo4j_server._set_initial_password, args=(paths, settings))
    worker.start()
    while worker.is_alive():
        for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
            try:
                text = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if "set-initial-password" in text:
                seen.append(text)
        time.sleep(0.05)
    worker.join()
    password = neo4j_server.read_credentials(paths.home)
    assert password and len(password) == 32
    assert seen, "the admin tool was never seen running"
    assert not [c for c in seen if password in c]
    assert (paths.data / "dbms" / "auth.ini").is_file()
    assert stat.S_IMODE((paths.data / "dbms" / "auth.ini").stat().st_mode) & 0o077 == 0
