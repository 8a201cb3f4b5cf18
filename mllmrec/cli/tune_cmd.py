"""``mllmrec tune``: the Optuna study of a dataset, its report, and serving its winner."""
from __future__ import annotations

import logging

import click
from rich.console import Console
from rich.table import Table

from mllmrec.cli import cli
from mllmrec.cli.common import AppContext, parse_sets, pass_app

_console = Console()


@cli.command("tune")
@click.option("--n-trials", type=click.IntRange(min=1),
              help="Finished (complete or pruned) trials the study aims at [default: 16].")
@click.option("--sampler", type=click.Choice(["tpe", "random", "grid"]), help="[default: tpe].")
@click.option("--pruner", type=click.Choice(["median", "halving", "none"]), help="[default: median].")
@click.option("--epochs", type=click.IntRange(min=1), help="Epoch cap of a trial [default: 30].")
@click.option("--patience", type=click.IntRange(min=1), help="Early-stopping patience of a trial [default: 5].")
@click.option("--storage", help="SQLAlchemy URL of the Optuna storage (e.g. postgresql://...) shared "
                                "by several workers [default: SQLite file in the study's folder].")
@click.option("--study-name", help="[default: the dataset's name].")
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE",
              help="Any setting, e.g. --set 'tune.space={lr: {low: 0.0005, high: 0.005, log: true}}'.")
@click.option("--serve", is_flag=True,
              help="After the study, serve the winner if its valid Recall@20 beats the serving "
                   "run's by at least train.min_gain (test is never used to decide).")
@click.option("--report", is_flag=True,
              help="Run no trial: print the trials table and write history.png and "
                   "importance.png in the study's folder.")
@pass_app
def tune_cmd(app: AppContext, n_trials: int | None, sampler: str | None, pruner: str | None,
             epochs: int | None, patience: int | None, storage: str | None,
             study_name: str | None, sets: tuple[str, ...], serve: bool, report: bool) -> None:
    """Search models, variants and graph settings with Optuna on validation Recall@20.

    Each trial trains with the real trainer (a TrainingRun linked to the study's
    (:TuningStudy) node, never serving) on its own graph build, kept beside the active one
    and reused by every trial with the same knn_k/knn_jac/pure. A pruner stops hopeless
    trials from their validation curves. Interrupted? Run the same command again: finished
    trials are kept. The winner's test metrics are computed once, after the last trial.
    """
    logging.getLogger("neo4j.notifications").setLevel(logging.ERROR)
    s = app.apply({"tune.n_trials": n_trials, "tune.sampler": sampler, "tune.pruner": pruner,
                   "tune.epochs": epochs, "tune.patience": patience, "tune.storage": storage,
                   "tune.study_name": study_name, **parse_sets(sets)})
    if report:
        _report(app)
        return
    from mllmrec.tune.study import run_study

    outcome = run_study(app.store, s)
    for line in outcome.lines():
        _console.print(line, highlight=False)
    if serve:
        _serve(app, outcome.complete)


def _serve(app: AppContext, complete: bool) -> None:
    from mllmrec.tune.study import load_study
    from mllmrec.tune.winner import serve_winner

    if not complete:
        _console.print("not serving: the study is not complete (rerun to finish it)", highlight=False)
        return
    decision = serve_winner(app.store, app.settings, load_study(app.settings))
    verb = "now serves" if decision.served else "not served"
    _console.print(f"winner {verb}: {decision.reason}; serving run: {decision.serving_run}",
                   highlight=False)


def _report(app: AppContext) -> None:
    from mllmrec.tune.report import trial_rows, write_plots
    from mllmrec.tune.study import load_study, study_dir

    study = load_study(app.settings)
    table = Table(title=f"study '{study.study_name}' of '{app.settings.dataset}'")
    for col in ("#", "state", "valid R@20", "epochs (best)", "seconds", "parameters", "run"):
        table.add_column(col, justify="right" if col in ("#", "valid R@20", "seconds") else "left",
                         no_wrap=col != "parameters")
    for r in trial_rows(study):
        value = r["valid_recall@20"]
        table.add_row(str(r["trial"]), r["state"], "" if value is None else f"{value:.4f}",
                      f"{r['epochs'] or ''}" + (f" ({r['best_epoch']})" if r["best_epoch"] else ""),
                      "" if r["seconds"] is None else f"{r['seconds']:.0f}",
                      ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                                for k, v in r["params"].items()), r["run"] or "")
    _console.print(table)
    written, notes = write_plots(study, study_dir(app.settings))
    for path in written:
        _console.print(f"wrote {path}", highlight=False)
    for note in notes:
        _console.print(note, highlight=False)
