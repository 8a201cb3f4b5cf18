"""The scale table: ratios, targets met or missed, latency percentiles, rendered cells."""
from __future__ import annotations

from pathlib import Path

import pytest

from bench.paper_scale import percentiles, ratio, row, table_rows
from bench.report import Part, render
from bench.results import Run


def test_ratio_and_targets():
    r = row("evaluation", 3.0, 2.0, "torch.topk", max_ratio=1.5)
    assert r["ratio"] == pytest.approx(1.5) and r["ok"] is True and r["target"] == "ratio <= 1.5"
    assert row("evaluation", 3.01, 2.0, max_ratio=1.5)["ok"] is False
    slow = row("kNN", 41.0, max_seconds=40, conditions=[("recall >= 0.99", True)])
    assert slow["ok"] is False and slow["target"] == "recall >= 0.99; <= 40 s"
    bad_recall = row("kNN", 12.0, max_seconds=40, conditions=[("recall >= 0.99", False)])
    assert bad_recall["ok"] is False
    assert row("ingest", 20.0)["ok"] is None  # no target: neither met nor missed
    pending = row("BPR-MF epoch: PENDING", None, max_ratio=1.5)
    assert pending["ratio"] is None and pending["ok"] is False
    assert ratio(1.0, None) is None and ratio(1.0, 0.0) is None and ratio(None, 2.0) is None


def test_percentiles_match_hand_computation():
    samples = [float(x) for x in range(1, 101)]  # 1..100
    p = percentiles(samples)
    # numpy's linear interpolation: position (n - 1) q = 49.5 -> 50.5; 94.05 -> 95.05
    assert p["p50"] == pytest.approx(50.5) and p["p95"] == pytest.approx(95.05)
    assert p["max"] == 100.0 and p["n"] == 100


def test_table_cells_and_report_section():
    rows = [row("co-occurrence (Cypher)", 12.345, 4.0, "scipy", max_seconds=30,
                conditions=[("edges identical to scipy", True)], note="183,000 edges"),
            row("recommend p50", 0.0123, max_seconds=0.020),
            row("recommend p95", 0.0612, max_seconds=0.050)]
    cells = table_rows(rows)
    assert cells[0][:6] == ["co-occurrence (Cypher)", "12.35", "4.00", "3.09",
                            "edges identical to scipy; <= 30 s", "yes"]
    assert cells[0][6] == "scipy; 183,000 edges"
    assert cells[1][1] == "0.0123" and cells[1][5] == "yes"
    assert cells[2][5] == "**NO**" and cells[2][3] == "-"
    run = {"id": "x", "created": "now", "command": "python -m bench paper-scale", "environment": {
        "machine": {"cpu": "cpu", "cores": 2, "ram_gb": 8, "os": "Linux", "load_average": [1.0]},
        "versions": {"python": "3", "torch": "2", "dgl": "2", "neo4j-server": "5"},
        "git": {"short": "abc"}},
        "paper_scale": {"profile": "sports", "seed": 1, "counts": {"users": 35_598, "items": 18_357},
                  "load_average_start": [1.0, 1.0, 1.0], "load_average_end": [2.0, 2.0, 2.0],
                  "rows": rows}}
    part = Part("paper-scale", run["paper_scale"], (Run(Path("x.json"), run),))
    text = render([part], out_dir=Path("unused"))  # no plot in this section
    assert "## Paper scale" in text and "35,598 users" in text
    assert "| recommend p95 | 0.0612 | - | - | <= 0.05 s | **NO** | - |" in text
    assert "new items" not in text  # a run without the refresh rows says nothing of them

    run["paper_scale"]["counts"].update(new_items=1_000, new_users=1_000, new_interactions=4_385,
                                        refreshed_items=1_000, refreshed_users=999,
                                        touched_items=3_210)
    text = render([part], out_dir=Path("unused"))
    assert ("1,000 new items and 1,000 new users (4,385 interactions)" in text
            and "1,000 items and 999 users served, 3,210 existing items" in text)
