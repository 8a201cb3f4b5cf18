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
    assert "| quality (ml-100k) | 20260101T000000Z.json | 2026-01-01T00:00:00Z | aaaa1111 |" in text
    for png in ("training_curves.png", "scaling.png"):
        assert (results / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    stored = json.loads((results / "20260102T000000Z.json").read_text())
    assert "quality" not in stored  # the JSON keeps only what this run measured
    assert readme.read_text() == "# project\n"  # nothing outside bench/results is rewritten
    # --from: only the files given; a section none of them has is absent
    text = write_report(results, [results / "20260102T000000Z.json"]).read_text()
    assert "## Scaling" in text and "## Recommendation quality" not in text


def test_a_newer_sports_quality_run_sits_beside_the_ml100k_one(tmp_path):
    """Quality is measured per dataset: the newest run of each dataset is shown, ML-100K
    first, each with its own run, curves and published reference."""
    def quality(dataset: str, recall: float) -> dict:
        m = {**METRICS, "recall@20": recall}
        return {"dataset": dataset, "seed": 1, "patience": 20, "max_epochs": 50,
                "models": [{"model": "LightGCN", "valid": m, "test": m, "best_epoch": 4, "epochs": 9,
                            "curve": [{"epoch": e, "loss": 1 / e, "valid_recall@20": e / 100}
                                      for e in range(1, 10)]}]}

    write_json(_run("20260101T000000Z", "aaaa1111", quality=quality("ml-100k", 0.3111)), tmp_path)
    write_json(_run("20260102T000000Z", "bbbb2222", quality=quality("ml-100k", 0.3222)), tmp_path)
    write_json(_run("20260103T000000Z", "cccc3333", quality=quality("amazon-sports", 0.0456)), tmp_path)
    text = write_report(tmp_path).read_text()
    ml = text.split("## Recommendation quality, ml-100k")[1].split("\n## ")[0]
    sports = text.split("## Recommendation quality, amazon-sports")[1].split("\n## ")[0]
    assert text.index("quality, ml-100k") < text.index("quality, amazon-sports")
    assert "0.3222" in ml and "0.3111" not in text and "bbbb2222" in ml  # newest of its dataset
    assert "0.0456" in sports and "cccc3333" in sports and "LightGCN 0.0864" in sports
    assert "![training curves](training_curves-amazon-sports.png)" in sports
    assert (tmp_path / "training_curves-amazon-sports.png").read_bytes()[:4] == b"\x89PNG"


def _aggregate(label: str, recall: float) -> dict:
    m = {**METRICS, "recall@20": recall}
    return {"model": "MLLMRec", "label": label, "seeds": [1, 2], "valid": m, "valid_std": METRICS,
            "test": m, "test_std": METRICS, "best_epoch": [4, 5], "epochs": [9, 10]}


PAIRED = {"test": "Wilcoxon", "metric": "per-user test recall@20", "a": "a", "b": "b", "users": 9,
          "nonzero_pairs": 5, "mean_difference": 0.01, "a_better_users": 3, "b_better_users": 2,
          "statistic": 4.0, "p_value": 0.5}


def test_tune_precision_and_embed_scale_sections_render_their_figures(tmp_path):
    results = tmp_path / "results"
    tune = {"dataset": "ml-100k", "seeds": [1, 2], "study": "s", "seconds": 1830.0,
            "counts": {"complete": 10, "pruned": 6, "failed": 0},
            "budget": {"n_trials": 16, "sampler": "tpe", "pruner": "median", "epochs": 30, "patience": 5},
            "best": {"trial": 7, "params": {"model": "lightgcn", "lr": 0.00321}, "valid_recall@20": 0.3311},
            "trials": [{"trial": 7, "state": "complete", "valid_recall@20": 0.3311, "epochs": 30,
                        "seconds": 61.0, "params": {"model": "lightgcn", "lr": 0.00321}}],
            "max_epochs": 1000, "patience": 20, "paired_tests": [PAIRED],
            "models": [_aggregate("tuned (study winner)", 0.3612), _aggregate("MLLMRec", 0.3013)]}
    precision = {"dataset": "ml-100k", "seeds": [1, 2], "max_epochs": 1000, "patience": 20,
                 "models": [_aggregate("MLLMRec, fp32 encoder", 0.3013),
                            _aggregate("MLLMRec, int8 encoder", 0.2999)], "paired_test": PAIRED}
    embed = {"counts": {"item": 18357, "user": 35598}, "graph": {"knn_jac": 10}, "sample_fraction": 0.1,
             "load_average_start": [0.1, 0.2, 0.3], "load_average_end": [1.0, 1.0, 1.0],
             "pipeline_seconds": 2345.6, "epochs": 77,
             "stages": [{"stage": "embed", "seconds": 800.0, "count": 53955, "unit": "texts",
                         "throughput": 67.4}],
             "rows": [{"stage": "embed, int8, whole catalogue", "seconds": 555.0, "reference_seconds": None,
                       "reference": "", "ratio": None, "target": "<= 600 s", "ok": True, "note": ""}]}
    write_json(_run("20260103T000000Z", "cccc3333", tune=tune, encoder_precision=precision,
                    embed_scale=embed), results)
    text = write_report(results).read_text()
    tune_md = text.split("## Tuning")[1].split("\n## ")[0]
    assert "30.5 minutes" in tune_md and "lr=0.00321" in tune_md and "0.3612 ± 0.2345" in tune_md
    assert "10 trials complete, 6 pruned" in tune_md and "p = 0.5" in tune_md
    precision_md = text.split("## int8 encoder")[1].split("\n## ")[0]
    assert "MLLMRec, int8 encoder" in precision_md and "0.2999" in precision_md
    embed_md = text.split("## Embedding at paper scale")[1].split("\n## ")[0]
    assert "2346 s" in embed_md and "77 epochs" in embed_md and "35,598" in embed_md
    assert "| embed, int8, whole catalogue | 555.00 |" in embed_md



def _overhead(n_runs: int) -> dict:
    """A tune-overhead section as bench.tune_overhead.measure_overhead saves it after its
    first ``n_runs`` runs (three per repeat)."""
    from bench.tune_overhead import KINDS, summarise

    runs = []
    for r in range(3):
        for k, kind in enumerate(KINDS):
            row = {"repeat": r, "kind": kind, "seconds": 10.0 + k + r, "epochs": 20,
                   "run": f"run-{r}-{kind}", "graph_build": "b1", "load_average": 1.5}
            if kind == "trial":
                row.update(trial=r, reported_epochs=20, study_call_seconds=14.0 + r,
                           once_seconds=2.0)
            runs.append(row)
    runs = runs[:n_runs]
    return {"source": "ml-100k", "epochs": 20, "repeats": 3, "model": "mllmrec", "seed": 2025,
            "threads": 1, "study": "tune-overhead-abc", "target": 1.05,
            "load_average_start": [1.0, 1.1, 1.2], "load_average_end": [1.3, 1.4, 1.5],
            "runs": runs, **summarise(runs)}


def test_tune_overhead_section_shows_medians_ratios_and_verdicts(tmp_path):
    results = tmp_path / "results"
    write_json(_run("20260103T000000Z", "cccc3333", tune_overhead=_overhead(9)), results)
    md = write_report(results).read_text().split("## Tuning: a trial against the same train run")[1]
    # per repeat r: train 10+r, trainer 11+r, trial 12+r seconds; medians 11, 12, 13
    assert "| 11.0 | 10.00, 11.00, 12.00 | 20/20/20 |" in md
    assert "| trial / train | 1.182 | <= 1.05 | **NO** |" in md
    assert "| trial / trainer | 1.083 | <= 1.05 | **NO** |" in md
    assert "3 of 3 repeats" in md and "[1.0, 1.1, 1.2] at the start" in md
    # a run stopped before its first trial: no ratio, no verdict
    write_json(_run("20260104T000000Z", "dddd4444", tune_overhead=_overhead(2)), results)
    md = write_report(results).read_text().split("## Tuning")[1]
    assert "| trial / train | - | <= 1.05 | - |" in md and "1 of 3 repeats" in md


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


def test_two_runs_started_in_the_same_second_get_their_own_files(tmp_path, monkeypatch):
    import bench.results as results

    monkeypatch.setattr(results, "timestamp", lambda: "20260101T000000Z")  # one second, twice
    first, second = results.reserve(tmp_path), results.reserve(tmp_path)
    assert (first, second) == ("20260101T000000Z", "20260101T000000Z-2")
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"{second}.json", f"{first}.json"]
    write_json(_run(first, "abcdef12", quality={}), tmp_path)
    assert json.loads((tmp_path / f"{second}.json").read_text() or "{}") == {}


def test_run_files_keep_number_lists_on_one_line_and_read_back_equal(tmp_path):
    run = {"id": "20260101T000000Z", "values": [0.5, -1e-07, 3, 1.25e+20, 0], "empty": [],
           "names": ["a", "b"], "nested": {"per_user": [[1, 2], [0.25]], "mixed": [1, "x"]}}
    path = write_json(run, tmp_path)
    text = path.read_text()
    assert json.loads(text) == run
    assert '"values": [0.5, -1e-07, 3, 1.25e+20, 0]' in text and '"per_user": [\n' in text
    assert "[1, 2]" in text and '"a",\n' in text  # strings keep their lines
