"""Ablation bookkeeping: each variant is one settings override of the real configuration,
and a variant identical to the full method is not trained twice (no graph access needed)."""
from __future__ import annotations

import pytest

from bench.ablation import VARIANTS, Variant, run_ablation
from mllmrec.config import Settings
from mllmrec.errors import ConfigError

FULL = {"valid": {"recall@20": 0.3}, "test": {"recall@20": 0.25}, "best_epoch": 7, "epochs": 27}


def test_every_variant_is_a_valid_override():
    base = Settings()
    names = [v.name for v in VARIANTS]
    assert names[0] == "full method" and len(names) == 7
    for v in VARIANTS:
        changed = base.with_overrides(v.overrides)  # raises ConfigError if a switch is missing
        for key, value in v.overrides.items():
            section, name = key.split(".")
            assert getattr(getattr(changed, section), name) == value
    by_name = {v.name: v for v in VARIANTS}
    assert base.with_overrides(by_name["w/o co-occurrence graph"].overrides).graph.knn_jac == 0
    with pytest.raises(ConfigError):
        base.with_overrides({"graph.no_such_switch": True})


def test_variants_equal_to_full_reuse_its_run():
    base = Settings().with_overrides({"enrich.no_llm": True})
    out = run_ablation(None, base, "ml-100k", FULL,  # type: ignore[arg-type]
                       variants=(Variant("full method"),
                                 Variant("w/o LLM reasoning", {"enrich.no_llm": True})))
    assert [r["variant"] for r in out["rows"]] == ["full method", "w/o LLM reasoning"]
    assert all(r["test"] == FULL["test"] and r["best_epoch"] == 7 for r in out["rows"])
    assert "same as the full method" in out["rows"][1]["note"]
    assert out["rows"][1]["change"] == "enrich.no_llm=True"


def test_training_stage_rows_split_epochs_and_evaluation():
    from bench.stages import train_rows

    result = {"model": "MLLMRec", "seconds": 30.0, "epochs": 2, "peak_rss_mb": 900.0,
              "curve": [{"epoch": 1, "train_seconds": 2.0, "eval_seconds": 0.5},
                        {"epoch": 2, "train_seconds": 3.0, "eval_seconds": 0.5}]}
    whole, fit, evaluation = train_rows(result, "ml-100k", train_interactions=1000)
    assert whole["seconds"] == 30.0 and whole["count"] == 2
    assert fit["count"] == 2000 and fit["seconds"] == 5.0 and fit["throughput"] == 400.0
    assert evaluation["seconds"] == 1.0 and evaluation["throughput"] == 2.0


def test_variant_equal_to_a_full_method_trained_here_reuses_that_run(monkeypatch):
    """Without the quality section's result the full method is trained (here: stubbed
    training) and a variant identical to it shows its numbers, not an empty row."""
    import bench.ablation as ablation

    calls = []

    def fake_repeat(store, settings, seeds, label=None, first=None):
        calls.append((label, first))
        return FULL

    monkeypatch.setattr(ablation, "repeat", fake_repeat)
    monkeypatch.setattr(ablation, "active_edges", lambda store, dataset: {"co_occurs": 1, "similar": 2})
    base = Settings().with_overrides({"enrich.no_llm": True})
    stage_run = {"seed": 2025}
    out = run_ablation(object(), base, "ml-100k", None,  # type: ignore[arg-type]
                       variants=(Variant("full method"),
                                 Variant("w/o LLM reasoning", {"enrich.no_llm": True})),
                       first=stage_run)
    assert calls == [("full method", stage_run)]  # trained once, the stage run as first seed
    assert out["rows"][1]["test"] == FULL["test"] and out["rows"][1]["same_as_full"]
