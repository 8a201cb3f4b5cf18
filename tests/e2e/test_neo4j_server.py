"""The project's own local server, as the test session started it: Neo4j Browser answers
over HTTP and `mllmrec neo4j status` reports the server running."""
from __future__ import annotations

import os
import urllib.request

import pytest

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
