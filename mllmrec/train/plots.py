"""Training-curve plot of a run: BPR loss and validation Recall@20 per epoch."""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402


def plot_curves(epochs: list[int], loss: list[float], valid: list[float], best_epoch: int,
                path: Path, title: str, metric: str = "recall@20") -> Path:
    """Save a two-axis PNG (loss left, validation metric right, best epoch marked). Epochs
    without validation (``train.eval_every``) have NaN in ``valid`` and are skipped."""
    fig, ax = plt.subplots(figsize=(7, 4), dpi=110)
    ax.plot(epochs, loss, color="tab:blue", label="BPR loss")
    ax.set_xlabel("epoch")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel("BPR loss", color="tab:blue")
    ax2 = ax.twinx()
    checked = [(e, v) for e, v in zip(epochs, valid) if v == v]  # NaN != NaN: not validated
    ax2.plot([e for e, _ in checked], [v for _, v in checked], color="tab:orange",
             label=f"valid {metric}")
    ax2.set_ylabel(f"valid {metric}", color="tab:orange")
    ax2.axvline(best_epoch, color="grey", linestyle="--", linewidth=1)
    ax.set_title(title)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path
