"""Report plumbing: tables, the generated README block, borrowed sections, plots, slopes."""
from __future__ import annotations

import json

import numpy as np

from bench.common import environment, measure
from bench.report import BEGIN, END, fill_missing, replace_block, table, write_report
from bench.scaling import fit_slope

METRICS = {"recall@10": 0.1234, "ndcg@10": 0.0567, "recall@20": 0.2345, "ndcg@20": 0.0891}


def _run(run_id: str, **sections) -> dict:
    return {"id": run_id, "created": "2026-01-01T00:00:00Z", "environment": environment(),
            "parameters": {"dataset": "ml-100k"}, **sections}


def test_table_markdown():
    assert table(["a", "b"], [[1234567, 0.5], ["x", None]]) == (
        "| a | b |\n|---|---|\n| 1,234,567 | 0.5000 |\n| x | - |")


def test_replace_block_keeps_surroundings():
    block = f"{BEGIN}\nnew\n{END}"
    text = f"intro\n{BEGIN}\nold numbers\n{END}\noutro\n"
    assert replace_block(text, block) == f"intro\n{block}\noutro\n"
    assert replace_block("intro\n", block) == f"intro\n\n{block}\n"
    assert replace_block(replace_block("intro\n", block), block).count(BEGIN) == 1


def test_fit_slope_recovers_power_law():
    x = [1e4, 1e5, 1e6]
    assert abs(fit_slope(x, [3 * v ** 1.5 for v in x]) - 1.5) < 1e-9
    assert abs(fit_slope(x, [7.0] * 3)) < 1e-9


def test_measure_sees_an_allocation():
    with measure() as m:
        block = np.ones(150 * 2 ** 20 // 8)
        block += 1
    assert m.seconds > 0
    assert m.peak_rss_mb - m.start_rss_mb >= 140  # 150 MiB array, measured by the kernel


def test_report_borrows_missing_sections_and_fills_readme(tmp_path):
    results = tmp_path / "results"
    quality = {"dataset": "ml-100k", "seed": 1, "patience": 20, "max_epochs": 50,
               "models": [{"model": "MLLMRec", "valid": METRICS, "test": METRICS, "best_epoch": 4,
                           "epochs": 9, "seconds_per_epoch": 0.25,
                           "curve": [{"epoch": e, "loss": 1 / e, "valid_recall@20": e / 100}
                                     for e in range(1, 10)]}]}
    write_report(_run("20260101T000000Z", quality=quality), results)
    scaling = {"seed": 1, "rows": [{"interactions": n, "users": n // 8, "items": n // 16,
                                    "ingest_seconds": n / 1e4} for n in (10_000, 100_000)],
               "slopes": {"ingest": 1.0}}
    readme = tmp_path / "README.md"
    readme.write_text("# project\n")
    report = write_report(_run("20260102T000000Z", scaling=scaling), results, docs=(readme,))
    text = report.read_text()
    assert "0.2345" in text and "0.1498 / 0.0677" in text  # ours and the published Sports row
    assert "comes from `20260101T000000Z.json`" in text
    assert "ingest 1.00" in text
    for png in ("training_curves.png", "scaling.png"):
        assert (results / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    stored = json.loads((results / "20260102T000000Z.json").read_text())
    assert "quality" not in stored  # the JSON keeps only what this run measured
    assert fill_missing(stored, results)["quality"]["models"][0]["test"] == METRICS
    block = readme.read_text()
    assert block.startswith("# project\n") and "results/REPORT.md" in block
    assert "| MLLMRec | 0.1234 | 0.0567 | 0.2345 | 0.0891 | 0.25 |" in block
