"""The cold-start section's reduction (bench/cold_start.py) and its report section, on made-up
per-seed results: means and sample stds, the negative pool chosen on validation only, the
paired test equal to scipy's on the pooled (seed, user) pairs, and the options."""
from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import wilcoxon

from bench.cold_start import summarise
from bench.options import parse
from bench.report import _cold_start_md


def _method(label: str, pool: str | None, valid: float, test_cold: float, per_user: list[float]):
    metrics = {"valid": {"recall@20": valid, "users": 9},
               "test_warm": {"recall@20": 0.3, "ndcg@20": 0.2},
               **{f"test_{g}": {"recall@10": test_cold / 2, "recall@20": test_cold,
                                "ndcg@10": 0.1, "ndcg@20": 0.1}
                  for g in ("cold_items", "cold_among_cold")}}
    return {"method": label.split(" (")[0], "negatives": pool, "metrics": metrics,
            "per_user": per_user, "epochs": 5, "best_epoch": 3}


def _seeds():
    rng = np.random.default_rng(0)
    out = []
    for seed, (va, vi) in zip((1, 2), ((0.20, 0.25), (0.22, 0.21))):  # 'interacted' wins on mean
        knn = rng.random(30).round(3).tolist()
        out.append({"seed": seed, "counts": {"users": 30}, "methods": {
            "MLLMRec (all)": _method("MLLMRec (all)", "all", va, 0.01 * seed, rng.random(30).tolist()),
            "MLLMRec (interacted)": _method("MLLMRec (interacted)", "interacted", vi, 0.2 + 0.1 * seed,
                                            (np.array(knn) + 0.05).tolist()),
            "text-kNN (max)": _method("text-kNN (max)", None, 0.1, 0.15, knn)}})
    return out


def test_summary_means_choice_on_validation_and_paired_test():
    seeds = _seeds()
    t = summarise("cold-items", seeds)
    rows = {r["label"]: r for r in t["methods"]}
    inter = rows["MLLMRec (interacted)"]
    assert inter["chosen"] and not rows["MLLMRec (all)"]["chosen"]
    assert "chosen" not in rows["text-kNN (max)"]  # no pool to choose
    assert inter["mean"]["test_cold_among_cold"]["recall@20"] == pytest.approx(0.35)
    assert inter["std"]["test_cold_among_cold"]["recall@20"] == pytest.approx(np.std([0.3, 0.4], ddof=1))
    [p] = t["paired_tests"]
    assert (p["a"], p["b"], p["group"], p["pairs"]) == ("MLLMRec (interacted)", "text-kNN (max)",
                                                        "cold_among_cold", 60)
    x = [v for s in seeds for v in s["methods"]["MLLMRec (interacted)"]["per_user"]]
    y = [v for s in seeds for v in s["methods"]["text-kNN (max)"]["per_user"]]
    assert p["p_value"] == pytest.approx(wilcoxon(x, y, zero_method="wilcox").pvalue)
    assert p["a_better"] == 60 and p["mean_difference"] == pytest.approx(0.05)


def test_report_section_and_options():
    t = summarise("cold-items", _seeds())
    md = "\n".join(_cold_start_md({"fraction": 0.2, "seeds": [1, 2], "cold_given": 5,
                                   "patience": 20, "max_epochs": 1000, "note": "",
                                   "datasets": {"ml-100k": {"cold-items": t}}}, None))
    assert "### ml-100k, cold-items" in md and "MLLMRec *" in md and "| text-kNN (max) |" in md
    assert "cold among cold recall@20" in md and "0.3500 ± 0.0707" in md
    assert "random scoring" in md and "p = " in md
    assert parse(["cold-start"]).cold_datasets == ("ml-100k",)
    assert parse(["cold-start", "--cold-datasets", "ml-100k,amazon-sports"]).cold_datasets == (
        "ml-100k", "amazon-sports")
    with pytest.raises(SystemExit):
        parse(["cold-start", "--cold-datasets", "netflix"])


def test_report_joins_the_protocols_two_processes_measured_of_one_commit(tmp_path):
    from bench.common import environment
    from bench.report import write_report
    from bench.results import write_json

    def run(run_id, protocol, commit="abcdef12", patience=20):
        section = {"fraction": 0.2, "seeds": [1, 2], "cold_given": 5, "patience": patience,
                   "max_epochs": 1000, "note": "",
                   "datasets": {"ml-100k": {protocol: summarise(protocol, _seeds())}}}
        env = {**environment(), "git": {"commit": commit * 5, "short": commit, "dirty": False}}
        return {"id": run_id, "created": f"2026-01-0{run_id[7]}T00:00:00Z", "environment": env,
                "parameters": {}, "command": f"python -m bench cold-start {run_id}",
                "cold_start": section}

    write_json(run("20260102T000000Z", "cold-users"), tmp_path)
    write_json(run("20260101T000000Z", "cold-items"), tmp_path)
    write_json(run("20260103T000000Z", "cold-items", commit="99999999"), tmp_path / "other")
    write_json(run("20260104T000000Z", "cold-items", patience=5), tmp_path / "other")
    text = write_report(tmp_path).read_text().split("## Cold start")[1]
    # the table of each protocol, in protocol order, and both runs named
    assert text.index("### ml-100k, cold-items") < text.index("### ml-100k, cold-users")
    assert ("protocol(s) cold-items from run `20260101T000000Z` of 2026-01-01T00:00:00Z, "
            "commit `abcdef12`") in text
    # another commit, or other conditions, is never joined
    for other in ("20260103T000000Z", "20260104T000000Z"):
        files = [tmp_path / "20260102T000000Z.json", tmp_path / "other" / f"{other}.json"]
        text = write_report(tmp_path, files).read_text().split("## Cold start")[1]
        assert text.count("### ml-100k") == 1 and "second process" not in text


def test_cold_protocols_option_names_the_sections_protocols():
    from bench.cold_start import PROTOCOLS
    from bench.options import COLD_PROTOCOLS

    assert tuple(PROTOCOLS) == COLD_PROTOCOLS == parse(["cold-start"]).cold_protocols
    assert parse(["cold-start", "--cold-protocols", "cold-users,cold-items"]).cold_protocols == (
        "cold-items", "cold-users")
    assert parse(["cold-start", "--cold-protocols", "cold-users"]).cold_protocols == ("cold-users",)
    with pytest.raises(SystemExit):
        parse(["cold-start", "--cold-protocols", "warm"])


def test_one_pool_per_text_model_is_shown_unchosen_and_still_paired():
    """--cold-runs with one pool per text model (a large catalogue): no validation choice to
    mark, but the paired test still runs on that pool."""
    seeds = [{**s, "methods": {k: v for k, v in s["methods"].items() if k != "MLLMRec (all)"}}
             for s in _seeds()]
    t = summarise("cold-items", seeds)
    rows = {r["label"]: r for r in t["methods"]}
    assert rows["MLLMRec (interacted)"]["chosen"] is None
    assert [p["a"] for p in t["paired_tests"]] == ["MLLMRec (interacted)"]
    md = "\n".join(_cold_start_md({"fraction": 0.2, "seeds": [1, 2], "datasets": {"x": {"cold-items": t}}}, None))
    assert "MLLMRec *" not in md and "| MLLMRec | interacted |" in md
    assert parse(["cold-start", "--cold-runs", "lightgcn:all,mllmrec:interacted"]).cold_runs == (
        "mllmrec:interacted", "lightgcn:all")
    with pytest.raises(SystemExit):
        parse(["cold-start", "--cold-runs", "lightgcn:interacted"])
