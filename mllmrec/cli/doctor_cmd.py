"""``mllmrec doctor``: a GPU self-check (train a few epochs on the GPU and on the CPU, compare)."""
from __future__ import annotations

import click

from mllmrec.cli import cli
from mllmrec.cli.common import AppContext, pass_app
from mllmrec.config import MODEL_NAMES


@cli.command("doctor")
@click.option("--epochs", type=int, default=2, show_default=True, help="Epochs per model and device.")
@click.option("--model", "models", type=click.Choice(MODEL_NAMES), multiple=True,
              help="Models to check (repeatable) [default: all three].")
@click.option("--threads", type=int, help="CPU threads of torch/DGL kernels [default: library default].")
@pass_app
def doctor_cmd(app: AppContext, epochs: int, models: tuple[str, ...], threads: int | None) -> None:
    """Check that training works on this machine's GPU and agrees with the CPU.

    Pulls the dataset from Neo4j (read-only; nothing is written), trains EPOCHS epochs of each
    model from the same seed on the GPU (when torch sees one and the installed DGL can run the
    model there) and on the CPU, and prints validation Recall@20 of both, the time per epoch,
    which parts ran where and why, and whether GPU and CPU agree. Without a GPU it says so and
    runs the CPU half.
    """
    from mllmrec.ops.doctor import environment, report, run_doctor
    from mllmrec.train.registry import MODELS

    s = app.apply({"train.threads": threads})
    for line in environment():
        click.echo(line)
    for line in report(run_doctor(app.store, s, epochs, models or tuple(MODELS))):
        click.echo(line)
