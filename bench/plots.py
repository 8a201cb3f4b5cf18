"""The report's PNG plots (matplotlib, Agg backend: no display needed)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def slope_text(value: float | None) -> str:
    """A fitted slope for a label ("n/a" when there were too few sizes)."""
    return "n/a" if value is None else f"{value:.2f}"


def _first(value: Any) -> Any:
    """A per-seed list's first value (the curve's seed), or a single run's value."""
    return value[0] if isinstance(value, list) else value


def plot_stage_times(stages: list[dict[str, Any]], path: Path, sub: str) -> Path:
    """Bars of the top-level stages (rows starting with ``sub`` are parts of the row above)."""
    stages = [s for s in stages if not s["stage"].startswith(sub)]
    names = [f"{s['stage']} ({s['dataset']})" for s in stages]
    secs = [s["seconds"] for s in stages]
    fig, ax = plt.subplots(figsize=(7, 0.5 * len(stages) + 1.2))
    ax.barh(names[::-1], secs[::-1], color="#4c72b0")
    for y, value in enumerate(secs[::-1]):
        ax.text(value, y, f" {value:.1f}s", va="center", fontsize=8)
    ax.set_xlabel("wall-clock seconds")
    ax.set_title("Time per pipeline stage")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def validated(curve: list[dict[str, Any]], metric: str) -> tuple[list[int], list[float]]:
    """The epochs a run validated and its validation ``metric`` there. With ``eval_every`` > 1
    the other epochs have no value, and a line through those gaps would draw nothing."""
    points = [(c["epoch"], c[f"valid_{metric}"]) for c in curve
              if c.get(f"valid_{metric}") is not None]
    return [e for e, _ in points], [v for _, v in points]


def plot_curves(models: list[dict[str, Any]], path: Path, metric: str = "recall@20") -> Path:
    """Training loss and validation ``metric`` per epoch of each model's first seed."""
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.6))
    for m in models:
        curve = m.get("curve") or []
        if not curve:
            continue
        epochs = [c["epoch"] for c in curve]
        ax1.plot(epochs, [c.get("loss") for c in curve], label=m["model"])
        at, values = validated(curve, metric)
        ax2.plot(at, values, label=m["model"], marker="." if len(at) < len(curve) else None)
        best = _first(m.get("best_epoch"))
        if best is not None:
            ax2.axvline(best, ls=":", lw=0.8, color=ax2.lines[-1].get_color())
    ax1.set_xlabel("epoch"), ax1.set_ylabel("BPR loss"), ax1.set_title("Training loss")
    ax2.set_xlabel("epoch"), ax2.set_ylabel(f"validation {metric}")
    ax2.set_title(f"Validation {metric}, first seed (dotted: best epoch)")
    ax1.legend(fontsize=8), ax2.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_scaling(scaling: dict[str, Any], path: Path) -> Path:
    """Seconds against interactions per stage, log-log, with the fitted slopes."""
    rows = scaling["rows"]
    x = [r["interactions"] for r in rows]
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    for stage, slope in scaling["slopes"].items():
        y = [r[f"{stage}_seconds"] for r in rows]
        ax.loglog(x, y, "o-", label=f"{stage} (slope {slope_text(slope)})")
    ax.set_xlabel("interactions")
    ax.set_ylabel("seconds")
    ax.set_title("Scaling on synthetic Sports-shaped data (log-log)")
    ax.grid(True, which="both", ls=":", lw=0.5)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
