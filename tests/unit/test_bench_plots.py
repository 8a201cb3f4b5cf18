"""The report's plots draw what the run measured (bench/plots.py)."""
from __future__ import annotations

from pathlib import Path

from bench.plots import plot_curves, validated


def _curve(epochs: int, every: int) -> list[dict[str, float]]:
    return [{"epoch": e, "loss": 1.0 / e, **({"valid_recall@20": e / 100} if e % every == 0 else {})}
            for e in range(1, epochs + 1)]


def test_a_run_validated_every_fifth_epoch_plots_those_epochs() -> None:
    assert validated(_curve(12, 5), "recall@20") == ([5, 10], [0.05, 0.10])
    assert validated(_curve(3, 1), "recall@20") == ([1, 2, 3], [0.01, 0.02, 0.03])


def test_the_curves_plot_is_written(tmp_path: Path) -> None:
    models = [{"model": "MLLMRec", "curve": _curve(12, 5), "best_epoch": [10]}]
    path = plot_curves(models, tmp_path / "curves.png")
    assert path.stat().st_size > 0
