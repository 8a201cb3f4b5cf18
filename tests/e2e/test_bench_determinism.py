"""The one benchmark command end to end, twice, on its smallest configuration: a synthetic
catalogue through the real ingest, graph build and trainer. Quality numbers must be
identical for the same seed, and each run must leave its JSON and REPORT.md."""
from __future__ import annotations

import json

import pytest

from mllmrec.db import resolve_password

pytestmark = pytest.mark.e2e


def test_smallest_bench_twice_gives_identical_quality(neo4j_settings, tmp_path, monkeypatch):
    from bench.__main__ import main

    monkeypatch.setenv("NEO4J_URI", neo4j_settings.uri)
    monkeypatch.setenv("NEO4J_USER", neo4j_settings.user)
    password = resolve_password(neo4j_settings)
    if password:
        monkeypatch.setenv("NEO4J_PASSWORD", password)
    args = ["scaling", "--sizes", "1500", "--max-epochs", "2", "--seed", "11",
            "--results-dir", str(tmp_path)]
    rows = []
    for _ in range(2):
        main(args)
        newest = max(tmp_path.glob("*.json"), key=lambda p: p.stat().st_mtime)
        rows.append(json.loads(newest.read_text())["scaling"]["rows"][0])
    assert len(list(tmp_path.glob("*.json"))) == 2
    first, second = rows
    assert first["interactions"] == second["interactions"] > 1000
    assert (first["users"], first["items"]) == (second["users"], second["items"])
    assert first["valid"]["recall@20"] > 0
    assert first["valid"] == second["valid"]
    assert first["test"] == second["test"]
    report = (tmp_path / "REPORT.md").read_text()
    assert "## Scaling" in report and (tmp_path / "scaling.png").is_file()
