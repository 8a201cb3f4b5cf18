"""``mllmrec tune --report``: the trials table, and Optuna's optimisation-history and
parameter-importance plots (matplotlib) as PNGs in the study's folder."""
from __future__ import annotations

import logging
import warnings
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import optuna  # noqa: E402
from optuna.trial import TrialState  # noqa: E402

log = logging.getLogger(__name__)


def trial_rows(study: optuna.Study) -> list[dict[str, Any]]:
    """One row per trial, in trial order: number, state, validation Recall@20 (best epoch),
    epochs trained (best), seconds, parameters, training run."""
    rows = []
    for t in study.get_trials(deepcopy=False):
        seconds = (t.datetime_complete - t.datetime_start).total_seconds() \
            if t.datetime_complete and t.datetime_start else None
        steps = sorted(t.intermediate_values)
        epochs = t.user_attrs.get("epochs", steps[-1] if steps else None)
        rows.append({"trial": t.number, "state": t.state.name.lower(),
                     "valid_recall@20": t.value if t.state == TrialState.COMPLETE
                     else max(t.intermediate_values.values(), default=None),
                     "epochs": epochs, "best_epoch": t.user_attrs.get("best_epoch"),
                     "seconds": seconds, "params": dict(t.params), "run": t.user_attrs.get("run_id")})
    return rows


def write_plots(study: optuna.Study, folder: Path) -> tuple[list[Path], list[str]]:
    """``history.png`` (value per trial and best so far) and ``importance.png`` (parameter
    importances) in ``folder``; returns the files written and why any was not."""
    from optuna.visualization import matplotlib as vis

    folder.mkdir(parents=True, exist_ok=True)
    written, notes = [], []
    plots = (("history.png", vis.plot_optimization_history), ("importance.png", vis.plot_param_importances))
    for name, plot in plots:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                plot(study)
        except (ValueError, RuntimeError, ZeroDivisionError) as exc:
            notes.append(f"{name} not written: {exc}")
            continue
        fig = plt.gcf()
        fig.set_size_inches(8, 4.5)
        fig.tight_layout()
        fig.savefig(folder / name, dpi=110)
        plt.close(fig)
        written.append(folder / name)
    return written, notes
