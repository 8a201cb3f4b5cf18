"""Benchmark statistics without a database: aggregation over seeds, the paired test, grid
selection on validation vs test, and the protocol's inflation, each against numbers worked
out by hand."""
from __future__ import annotations

import pytest

from bench.ablation import better_on_validation
from bench.grid import choices, points
from bench.options import GridSpec
from bench.protocol import summarise
from bench.train_runs import aggregate, paired_test
from mllmrec.config import Settings


def _run(seed: int, valid: float, test: float, per_user: list[float] | None = None) -> dict:
    metrics = {"recall@20": test, "ndcg@20": test / 2}
    return {"model": "MLLMRec", "label": "MLLMRec", "seed": seed, "run_id": f"r{seed}",
            "valid": {"recall@20": valid, "ndcg@20": valid / 2}, "test": metrics,
            "best_epoch": 10 + seed, "epochs": 30 + seed, "seconds": 2.0,
            "seconds_per_epoch": 0.1, "eval_seconds_per_epoch": 0.05, "peak_rss_mb": 100.0,
            "curve": [], "per_user_test": {"recall@20": per_user or [test], "ndcg@20": per_user or [test]}}


def test_aggregate_mean_and_sample_std_over_seeds():
    agg = aggregate([_run(1, 0.2, 0.1, [0.0, 0.3]), _run(2, 0.4, 0.3, [0.2, 0.5])])
    assert agg["seeds"] == [1, 2] and agg["epochs"] == [31, 32] and agg["best_epoch"] == [11, 12]
    assert agg["valid"]["recall@20"] == pytest.approx(0.3)
    assert agg["test"]["recall@20"] == pytest.approx(0.2)
    assert agg["test_std"]["recall@20"] == pytest.approx(0.1414213562, abs=1e-9)  # sqrt(0.02)
    assert agg["per_user_test"]["recall@20"] == pytest.approx([0.1, 0.4])
    assert agg["seconds"] == 4.0


def test_wilcoxon_matches_the_exact_table():
    # differences 1, 2, 3, -4, 5: W+ = 11, W- = 4; exact two-sided p = 2 * 7 / 32
    a = {"label": "A", "per_user_test": {"recall@20": [1.0, 2.0, 3.0, 0.0, 5.0, 0.5]}}
    b = {"label": "B", "per_user_test": {"recall@20": [0.0, 0.0, 0.0, 4.0, 0.0, 0.5]}}
    t = paired_test(a, b)
    assert (t["users"], t["nonzero_pairs"], t["a_better_users"], t["b_better_users"]) == (6, 5, 4, 1)
    assert t["statistic"] == 4.0 and t["p_value"] == pytest.approx(0.4375)
    assert "Wilcoxon" in t["test"]
    with pytest.raises(ValueError):
        paired_test(a, {"label": "C", "per_user_test": {"recall@20": [1.0]}})


def _row(config: dict, valid: float, test: float) -> dict:
    return {**aggregate([_run(1, valid, test)]), "config": config}


def test_grid_choice_on_validation_and_on_test_and_the_inflation():
    grid = points(GridSpec(knn_k=(5, 10), knn_jac=(10,), pure=(0.7,)))
    assert grid == [{"knn_k": 5, "knn_jac": 10, "pure": 0.7}, {"knn_k": 10, "knn_jac": 10, "pure": 0.7}]
    honest = [_row(grid[0], 0.30, 0.20), _row(grid[1], 0.29, 0.25)]
    leaky = [_row(grid[0], 0.40, 0.32), _row(grid[1], 0.41, 0.30)]
    picked = choices(honest)
    assert picked["valid"]["config"] == grid[0] and picked["test"]["config"] == grid[1]
    out = summarise({"train": honest, "all": leaky}, Settings(), [1])
    cells = {(c["scope"], c["selection"]): c for c in out["cells"]}
    assert [c["config"] for c in cells.values()] == [grid[0], grid[1], grid[1], grid[0]]
    published = cells[("all", "test")]["inflation"]["recall@20"]
    assert published["absolute"] == pytest.approx(0.32 - 0.20)
    assert published["relative"] == pytest.approx(0.6)
    assert cells[("train", "valid")]["inflation"]["ndcg@20"]["absolute"] == 0
    assert out["missing"] == []
    partial = summarise({"train": honest}, Settings(), [1])
    assert partial["missing"] == ["all"] and len(partial["cells"]) == 2


def test_variants_better_on_validation_name_their_flag():
    rows = [{"variant": "full method", "valid": {"recall@20": 0.30}, "same_as_full": True},
            {"variant": "with UI-GCN", "pick": "mllmrec train --ui-gcn", "valid": {"recall@20": 0.31},
             "test": {"recall@20": 0.2}, "same_as_full": False},
            {"variant": "w/o LLM reasoning", "pick": "x", "valid": {"recall@20": 0.30},
             "test": {}, "same_as_full": True},
            {"variant": "w/o threshold", "pick": "y", "valid": {"recall@20": 0.29}, "test": {},
             "same_as_full": False}]
    assert [b["variant"] for b in better_on_validation(rows)] == ["with UI-GCN"]
    assert better_on_validation(rows)[0]["pick"] == "mllmrec train --ui-gcn"


def test_report_joins_the_two_scopes_of_one_commit_and_prints_inflation_and_paired_test(tmp_path):
    from bench.common import environment
    from bench.report import write_report
    from bench.results import write_json

    grid = points(GridSpec(knn_k=(5, 10), knn_jac=(10,), pure=(0.7,)))
    honest = [_row(grid[0], 0.30, 0.20), _row(grid[1], 0.29, 0.25)]
    leaky = [_row(grid[0], 0.40, 0.32), _row(grid[1], 0.41, 0.30)]

    def run(run_id, grids, commit="abcdef12"):
        section = {"dataset": "ml-100k", **summarise(grids, Settings(), [1])}
        env = {**environment(), "git": {"commit": commit * 5, "short": commit, "dirty": False}}
        return {"id": run_id, "created": f"{run_id[:4]}-01-0{run_id[7]}T00:00:00Z",
                "environment": env, "parameters": {}, "command": f"python -m bench {run_id}",
                "protocol": section}

    write_json(run("20260101T000000Z", {"all": leaky}), tmp_path)
    write_json(run("20260103T000000Z", {"all": leaky}, commit="99999999"), tmp_path / "other")
    mllmrec = {**aggregate([_run(1, 0.3, 0.2, [0.1, 0.3]), _run(2, 0.3, 0.2, [0.1, 0.3])])}
    bpr = {**aggregate([_run(1, 0.2, 0.1, [0.0, 0.1]), _run(2, 0.2, 0.1, [0.0, 0.1])]),
           "model": "BPR-MF", "label": "BPR-MF"}
    second = run("20260102T000000Z", {"train": honest})
    second["quality"] = {"dataset": "ml-100k", "seeds": [1, 2], "patience": 20, "max_epochs": 1000,
                         "history_scope": "train", "models": [mllmrec, bpr], "missing": ["LightGCN"],
                         "paired_test": paired_test(mllmrec, bpr)}
    write_json(second, tmp_path)
    text = write_report(tmp_path).read_text()
    assert "## Protocol" in text
    assert ("user-text scope(s) all from run `20260101T000000Z` of 2026-01-01T00:00:00Z, "
            "commit `abcdef12`") in text
    assert "+0.1200 (+60.0%)" in text  # published cell: 0.32 vs the honest 0.20
    assert "0.2000 ± 0.0000" in text and "Wilcoxon signed-rank" in text
    assert "**Not run** (the run was stopped before them): LightGCN." in text
    # the newest protocol run, of another commit, is never completed from the older one
    files = [tmp_path / "20260102T000000Z.json", tmp_path / "other" / "20260103T000000Z.json"]
    protocol = write_report(tmp_path, files).read_text().split("## Protocol")[1].split("\n## ")[0]
    assert "run `20260103T000000Z`" in protocol and "20260102T000000Z" not in protocol
    assert "**Not run** (the run was stopped before them): train." in protocol


def test_quality_pairs_mllmrec_with_the_better_id_baseline_never_the_hybrid():
    from bench.context import Context
    from bench.options import parse
    from bench.quality import table

    def model(name: str, valid: float, per_user: list[float]) -> dict:
        return {**aggregate([_run(1, valid, 0.3, per_user)]), "model": name, "label": name}

    models = [model("MLLMRec", 0.30, [0.1, 0.3, 0.2]), model("BPR-MF", 0.32, [0.2, 0.3, 0.1]),
              model("LightGCN", 0.34, [0.3, 0.4, 0.4]), model("Hybrid", 0.36, [0.5, 0.5, 0.5])]
    t = table(Context(parse(["quality"]), Settings(), {}), models)
    assert t["paired_test"]["b"] == "LightGCN" and t["missing"] == []
    assert table(Context(parse(["quality"]), Settings(), {}), models[:2])["missing"] == [
        "LightGCN", "Hybrid"]
