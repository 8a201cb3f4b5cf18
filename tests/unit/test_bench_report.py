"""Report plumbing: tables, sections attributed to the run that measured them, plots, slopes."""
from __future__ import annotations

import json

import numpy as np

from bench.common import environment, measure
from bench.report import table, write_report
from bench.results import write_json
from bench.scaling_curve import fit_slope

METRICS = {"recall@10": 0.1234, "ndcg@10": 0.0567, "recall@20": 0.2345, "ndcg@20": 0.0891}


def _run(run_id: str, commit: str, **sections) -> dict:
    env = {**environment(), "git": {"commit": commit * 5, "short": commit, "dirty": False}}
    return {"id": run_id, "created": f"2026-01-0{run_id[7]}T00:00:00Z", "environment": env,
            "command": f"python -m bench {' '.join(sections)}", "parameters": {"dataset": "ml-100k"},
            **sections}


def test_table_markdown():
    assert table(["a", "b"], [[1234567, 0.5], ["x", None]]) == (
        "| a | b |\n|---|---|\n| 1,234,567 | 0.5000 |\n| x | - |")


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


def test_each_section_names_the_run_date_and_commit_it_comes_from(tmp_path):
    results = tmp_path / "results"
    quality = {"dataset": "ml-100k", "seed": 1, "patience": 20, "max_epochs": 50,
               "models": [{"model": "MLLMRec", "valid": METRICS, "test": METRICS, "best_epoch": 4,
                           "epochs": 9, "seconds_per_epoch": 0.25,
                           "curve": [{"epoch": e, "loss": 1 / e, "valid_recall@20": e / 100}
                                     for e in range(1, 10)]}]}
    write_json(_run("20260101T000000Z", "aaaa1111", quality=quality), results)
    scaling = {"seed": 1, "rows": [{"interactions": n, "users": n // 8, "items": n // 16,
                                    "ingest_seconds": n / 1e4} for n in (10_000, 100_000)],
               "slopes": {"ingest": 1.0}}
    write_json(_run("20260102T000000Z", "bbbb2222", scaling=scaling), results)
    readme = tmp_path / "README.md"
    readme.write_text("# project\n")
    text = write_report(results).read_text()
    assert "0.2345" in text and "0.1498 / 0.0677" in text  # ours and the published Sports row
    assert "ingest 1.00" in text
    quality_md = text.split("## Recommendation quality")[1].split("\n## ")[0]
    scaling_md = text.split("## Scaling")[1].split("\n## ")[0]
    assert "run `20260101T000000Z` of 2026-01-01T00:00:00Z, commit `aaaa1111`" in quality_md
    assert "bbbb2222" not in quality_md
    assert "run `20260102T000000Z` of 2026-01-02T00:00:00Z, commit `bbbb2222`" in scaling_md
    assert "| quality | 20260101T000000Z.json | 2026-01-01T00:00:00Z | aaaa1111 |" in text
    for png in ("training_curves.png", "scaling.png"):
        assert (results / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    stored = json.loads((results / "20260102T000000Z.json").read_text())
    assert "quality" not in stored  # the JSON keeps only what this run measured
    assert readme.read_text() == "# project\n"  # nothing outside bench/results is rewritten
    # --from: only the files given; a section none of them has is absent
    text = write_report(results, [results / "20260102T000000Z.json"]).read_text()
    assert "## Scaling" in text and "## Recommendation quality" not in text


def test_embed_paths_section_states_targets_and_misses(tmp_path):
    """Each endpoint rate and parity figure is judged against its target; a miss says NO."""
    row = {"concurrency": 8, "requests": 32, "ideal_per_s": 40.0, "embed_per_s": 35.6,
           "embed_ratio": 0.89, "embed_ratios": [0.89, 0.88, 0.91], "chat_per_s": 38.0,
           "chat_ratio": 0.95, "chat_ratios": [0.95, 0.95, 0.96]}
    local = {"texts": 2000, "batch_size": 128, "repeats": 3, "fp32_texts_per_s": 68.7,
             "int8_texts_per_s": 81.0, "int8_speedup": 1.18, "parity_mean_cosine": 0.9962,
             "parity_min_cosine": 0.9652}
    section = {"load_average_start": [4.5, 4.0, 3.0], "load_average_end": [4.3, 4.0, 3.0],
               "local": local, "endpoint": {"latency": 0.2, "waves": 4, "repeats": 3, "rows": [row]}}
    results = tmp_path / "results"
    write_json(_run("20260103T000000Z", "cccc3333", embed_paths=section), results)
    md = write_report(results).read_text().split("## Three ways to embed")[1]
    assert "| embed | 8 | 32 | 40.0 | 35.6 | 0.890 | 0.89 / 0.88 / 0.91 | >= 0.9 | **NO** |" in md
    assert "| chat | 8 | 32 | 40.0 | 38.0 | 0.950 | 0.95 / 0.95 / 0.96 | >= 0.9 | yes |" in md
    assert "| int8 vs fp32 mean cosine | 0.9962 | >= 0.99 | yes |" in md
    assert "| int8 vs fp32 min cosine | 0.9652 | >= 0.97 | **NO** |" in md
    assert "| fp32 texts/s | 68.7 | - | - |" in md and "| int8 / fp32 speed | 1.18 | - | - |" in md
