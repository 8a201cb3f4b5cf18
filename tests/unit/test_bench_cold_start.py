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


def test_rows_trained_models_first_whatever_order_a_run_file_kept():
    seeds = [{**s, "methods": dict(sorted(s["methods"].items(), reverse=True))} for s in _seeds()]
    assert [r["label"] for r in summarise("cold-items", seeds)["methods"]] == [
        "MLLMRec (all)", "MLLMRec (interacted)", "text-kNN (max)"]


def test_report_section_and_options():
    t = summarise("cold-items", _seeds())
    md = "\n".join(_cold_start_md({"fraction": 0.2, "seeds": [1, 2], "cold_given": 5,
                                   "patience": 20, "max_epochs": 1000, "note": "",
                                   "datasets": {"ml-100k": {"cold-items": t}}}, None))
    assert "### ml-100k, cold-items" in md and "MLLMRec *" in md and "| text-kNN (max) |" in md
    assert "none chosen" not in md
    assert "cold among cold recall@20" in md and "0.3500 ± 0.0707" in md
    assert "random scoring" in md and "p = " in md
    assert parse(["cold-start"]).cold_datasets == ("ml-100k",)
    assert parse(["cold-start", "--cold-datasets", "ml-100k,amazon-sports"]).cold_datasets == (
        "ml-100k", "amazon-sports")
    with pytest.raises(SystemExit):
        parse(["cold-start", "--cold-datasets", "netflix"])


def _run_doc(run_id, tables, commit="abcdef12", patience=20, legacy=False):
    """A run file with a cold-start section of ``tables`` ({(dataset, protocol): seeds});
    ``legacy``: the format before per-table conditions and kept seeds."""
    from bench.common import environment

    cond = {"seeds": [1, 2], "max_epochs": 1000, "patience": patience, "eval_every": 1, "runs": []}
    datasets: dict = {}
    for (source, protocol), seeds in tables.items():
        t = summarise(protocol, seeds, cond)
        if legacy:
            t = {k: v for k, v in t.items() if k not in ("conditions", "per_seed")}
        datasets.setdefault(source, {})[protocol] = t
    section = {"fraction": 0.2, "cold_given": 5, "note": "", "datasets": datasets}
    if legacy:
        section.update({k: cond[k] for k in ("seeds", "max_epochs", "patience", "runs")})
    env = {**environment(), "git": {"commit": commit * 5, "short": commit, "dirty": False}}
    return {"id": run_id, "created": f"2026-01-0{run_id[7]}T00:00:00Z", "environment": env,
            "parameters": {}, "command": f"python -m bench cold-start {run_id}",
            "cold_start": section}


def _cold_text(path, files=None):
    from bench.report import write_report

    return write_report(path, files).read_text().split("## Cold start")[1]


def test_report_joins_tables_of_other_runs_and_names_them(tmp_path):
    """Protocols and datasets measured by other runs (here one of another commit, in the old
    run-file format) join the newest run's section, each run named; other conditions never."""
    from bench.results import write_json

    write_json(_run_doc("20260102T000000Z", {("ml-100k", "cold-users"): _seeds()}), tmp_path)
    write_json(_run_doc("20260101T000000Z", {("ml-100k", "cold-items"): _seeds()}, commit="99999999",
                        legacy=True), tmp_path)
    write_json(_run_doc("20260103T000000Z", {("amazon-sports", "cold-items"): _seeds()[:1]},
                        patience=5), tmp_path / "other")
    text = _cold_text(tmp_path)
    assert text.index("### ml-100k, cold-items") < text.index("### ml-100k, cold-users")
    assert ("table(s) ml-100k cold-items (seeds 1, 2) from run `20260101T000000Z` of "
            "2026-01-01T00:00:00Z, commit `99999999`") in text
    assert "patience 20, at most 1000 epochs, validated every epoch" in text
    # the Sports table of another run joins, under its own conditions
    files = [tmp_path / "20260102T000000Z.json", tmp_path / "other" / "20260103T000000Z.json"]
    text = _cold_text(tmp_path, files)
    assert "### amazon-sports, cold-items" in text and "Seeds 1 (not measured: 2); early " \
        "stopping on validation Recall@20, patience 5" in text
    # another held-out fraction is never joined
    other = _run_doc("20260104T000000Z", {("ml-100k", "cold-items"): _seeds()})
    other["cold_start"]["fraction"] = 0.1
    write_json(other, tmp_path / "third")
    text = _cold_text(tmp_path, [files[0], tmp_path / "third" / "20260104T000000Z.json"])
    assert text.count("### ") == 1


def test_report_joins_seeds_and_a_seeds_missing_methods_on_the_same_split(tmp_path):
    """Seed 2 measured in another session joins seed 1's table (the means are over both); a
    method measured later on seed 1 joins it only when the split fingerprint matches."""
    from bench.cold_start import merge
    from bench.results import write_json

    one, two = (dict(s, split=f"split-{s['seed']}") for s in _seeds())
    only_knn = {**one, "methods": {k: v for k, v in one["methods"].items() if k == "text-kNN (max)"}}
    rest = {**one, "methods": {k: v for k, v in one["methods"].items() if k != "text-kNN (max)"}}
    write_json(_run_doc("20260102T000000Z", {("ml-100k", "cold-items"): [only_knn]}), tmp_path)
    write_json(_run_doc("20260101T000000Z", {("ml-100k", "cold-items"): [rest, two]},
                        commit="99999999"), tmp_path)
    text = _cold_text(tmp_path)
    assert "Seeds 1, 2;" in text and "seed)" not in text  # every row on both seeds
    # MLLMRec (interacted) test cold-among-cold recall@20 is 0.3 on seed 1, 0.4 on seed 2
    assert f"{0.35:.4f} ± {np.std([0.3, 0.4], ddof=1):.4f}" in text
    assert "over 60 pairs" in text  # the paired test pools both seeds' 30 users
    # a seed's methods measured on another split stay out; the other run adds nothing then
    # a seed measured in part: the rows say on how many seeds each stands
    (tmp_path / "20260101T000000Z.json").unlink()
    write_json(_run_doc("20260101T000000Z", {("ml-100k", "cold-items"): [rest, {
        **two, "methods": {"text-kNN (max)": two["methods"]["text-kNN (max)"]}}]},
                        commit="99999999"), tmp_path)
    text = _cold_text(tmp_path)
    assert "| MLLMRec * (1 seed) |" in text and "| text-kNN (max) (2 seeds) |" in text
    section = _run_doc("x0000001", {("ml-100k", "cold-items"): [only_knn]})["cold_start"]
    moved = _run_doc("x0000002", {("ml-100k", "cold-items"): [{**rest, "split": "other"}]})
    assert merge(section, moved["cold_start"]) is None
    assert merge(section, _run_doc("x0000003", {("ml-100k", "cold-items"): [rest]},
                                   patience=5)["cold_start"]) is None


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
    assert "one negative pool per method, as `--cold-runs` named it" in md
    assert parse(["cold-start", "--cold-runs", "lightgcn:all,mllmrec:interacted"]).cold_runs == (
        "mllmrec:interacted", "lightgcn:all")
    with pytest.raises(SystemExit):
        parse(["cold-start", "--cold-runs", "lightgcn:interacted"])


def test_cold_users_are_paired_with_popularity_too_and_tables_recomputed_from_seeds():
    """On cold users the text models are also paired with popularity; the report recomputes a
    table from its kept seeds (a stale stored summary does not show)."""
    rng = np.random.default_rng(1)
    seeds = []
    for seed in (1, 2):
        methods = {}
        for label, pool in (("MLLMRec (interacted)", "interacted"), ("text-kNN (max)", None),
                            ("popularity", None)):
            m = _method(label, pool, 0.1, 0.1, rng.random(20).round(3).tolist())
            m["metrics"] = {k: v for k, v in m["metrics"].items() if "cold_items" not in k
                            and "among" not in k}
            m["metrics"]["test_cold_users"] = {"recall@20": 0.1 * seed}
            methods[label] = m
        seeds.append({"seed": seed, "methods": methods})
    t = summarise("cold-users", seeds, {"patience": 20, "max_epochs": 9, "eval_every": 5,
                                        "runs": ["mllmrec:interacted", "hybrid:all"]})
    assert [(p["a"], p["b"]) for p in t["paired_tests"]] == [
        ("MLLMRec (interacted)", "text-kNN (max)"), ("MLLMRec (interacted)", "popularity")]
    x = [v for s in seeds for v in s["methods"]["MLLMRec (interacted)"]["per_user"]]
    y = [v for s in seeds for v in s["methods"]["popularity"]["per_user"]]
    assert t["paired_tests"][1]["p_value"] == pytest.approx(wilcoxon(x, y, zero_method="wilcox").pvalue)
    stale = {**t, "methods": [], "paired_tests": []}
    md = "\n".join(_cold_start_md({"fraction": 0.2, "datasets": {"x": {"cold-users": stale}}}, None))
    assert "| MLLMRec | interacted |" in md and "MLLMRec (interacted) vs popularity" in md
    assert "Seeds 1, 2; not trained yet: Hybrid (all); " in md and "validated every 5 epochs" in md


def test_pools_measured_on_different_seeds_are_compared_on_the_common_ones():
    """'all' measured on seed 1 only, 'interacted' on seeds 1 and 2: 'all' is better on seed 1
    (0.20 vs 0.19) though 'interacted' has the better mean over its own two seeds (0.25); the
    choice must follow seed 1, and the report must say it was made on seed 1 only."""
    seeds = _seeds()
    seeds[0]["methods"]["MLLMRec (interacted)"]["metrics"]["valid"]["recall@20"] = 0.19
    seeds[1]["methods"]["MLLMRec (interacted)"]["metrics"]["valid"]["recall@20"] = 0.31
    del seeds[1]["methods"]["MLLMRec (all)"]
    t = summarise("cold-items", seeds)
    rows = {r["label"]: r for r in t["methods"]}
    assert rows["MLLMRec (all)"]["chosen"] and not rows["MLLMRec (interacted)"]["chosen"]
    assert rows["MLLMRec (interacted)"]["chosen_on"] == [1]
    md = "\n".join(_cold_start_md({"fraction": 0.2, "seeds": [1, 2], "datasets": {"x": {"cold-items": t}}}, None))
    assert "compared on validation of seed(s) 1 only" in md

    apart = _seeds()  # 'all' on seed 1 only, 'interacted' on seed 2 only: nothing to compare on
    del apart[0]["methods"]["MLLMRec (interacted)"], apart[1]["methods"]["MLLMRec (all)"]
    rows = {r["label"]: r for r in summarise("cold-items", apart)["methods"]}
    assert rows["MLLMRec (all)"]["chosen"] is None and rows["MLLMRec (interacted)"]["chosen"] is None
