"""The quality section's model subsets (``--quality-models``) and the report's join of two
processes' tables: all four models in training order, MLLMRec paired with the better ID
baseline (the test equal to scipy's on the joined per-user values), never joined across
splits, seeds or commits."""
from __future__ import annotations

import pytest
from scipy.stats import wilcoxon

from bench.common import environment
from bench.options import parse
from bench.quality import merge
from bench.report import write_report
from bench.results import write_json
from bench.train_runs import aggregate

PER_USER = {"MLLMRec": [0.1, 0.3, 0.2, 0.0], "BPR-MF": [0.2, 0.3, 0.1, 0.4],
            "LightGCN": [0.3, 0.4, 0.4, 0.5], "Hybrid": [0.5, 0.5, 0.5, 0.1]}
VALID = {"MLLMRec": 0.30, "BPR-MF": 0.32, "LightGCN": 0.34, "Hybrid": 0.36}


def _model(name: str) -> dict:
    metrics = {"recall@20": VALID[name], "ndcg@20": VALID[name] / 2}
    run = {"model": name, "label": name, "seed": 1, "run_id": f"r-{name}", "valid": metrics,
           "test": metrics, "best_epoch": 5, "epochs": 25, "seconds": 2.0, "seconds_per_epoch": 0.1,
           "eval_seconds_per_epoch": 0.05, "peak_rss_mb": 100.0, "curve": [],
           "per_user_test": {"recall@20": PER_USER[name], "ndcg@20": PER_USER[name]}}
    return aggregate([run])


def _section(names: list[str], split: str = "s1", seeds: tuple[int, ...] = (1,)) -> dict:
    return {"dataset": "amazon-sports", "seed": 1, "seeds": list(seeds), "patience": 20,
            "max_epochs": 1000, "eval_every": 5, "history_scope": "train", "note": "",
            "split": split, "models": [_model(n) for n in names], "missing": [],
            "paired_test": None}


def _doc(run_id: str, section: dict, commit: str = "abcdef12") -> dict:
    env = {**environment(), "git": {"commit": commit * 5, "short": commit, "dirty": False}}
    return {"id": run_id, "created": f"2026-01-0{run_id[7]}T00:00:00Z", "environment": env,
            "parameters": {}, "command": f"python -m bench quality {run_id}", "quality": section}


def test_two_processes_models_join_in_order_with_the_paired_test():
    joined = merge(_section(["MLLMRec", "Hybrid"]), _section(["BPR-MF", "LightGCN"]))
    assert [m["model"] for m in joined["models"]] == ["MLLMRec", "BPR-MF", "LightGCN", "Hybrid"]
    t = joined["paired_test"]
    assert (t["a"], t["b"]) == ("MLLMRec", "LightGCN")  # the better ID baseline, not the hybrid
    expected = wilcoxon(PER_USER["MLLMRec"], PER_USER["LightGCN"], zero_method="wilcox").pvalue
    assert t["p_value"] == pytest.approx(expected)
    for other in (_section(["BPR-MF"], split="s2"), _section(["BPR-MF"], seeds=(1, 2)),
                  _section(["MLLMRec"])):
        assert merge(_section(["MLLMRec", "Hybrid"]), other) is None


def test_report_names_both_runs_and_never_joins_another_commit(tmp_path):
    write_json(_doc("20260102T000000Z", _section(["MLLMRec", "Hybrid"])), tmp_path)
    write_json(_doc("20260101T000000Z", _section(["BPR-MF", "LightGCN"])), tmp_path)
    write_json(_doc("20260103T000000Z", _section(["BPR-MF"]), commit="99999999"), tmp_path / "x")
    text = write_report(tmp_path).read_text().split("## Recommendation quality")[1]
    assert "model(s) BPR-MF, LightGCN from run `20260101T000000Z`" in text
    assert all(f"| {name} |" in text for name in PER_USER)
    assert "MLLMRec better for" in text and "LightGCN for" in text  # the paired test's line
    files = [tmp_path / "20260102T000000Z.json", tmp_path / "x" / "20260103T000000Z.json"]
    text = write_report(tmp_path, files).read_text().split("## Recommendation quality")[1]
    assert "| BPR-MF |" in text and "| MLLMRec |" not in text and "second process" not in text


def test_quality_models_option():
    assert parse(["quality"]).quality_models == ("mllmrec", "bpr", "lightgcn", "hybrid")
    assert parse(["quality", "--quality-models", "hybrid,mllmrec"]).quality_models == ("mllmrec", "hybrid")
    with pytest.raises(SystemExit):
        parse(["quality", "--quality-models", "sasrec"])
