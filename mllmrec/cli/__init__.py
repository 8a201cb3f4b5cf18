"""The ``mllmrec`` command. Each command group lives in its own module beside this one."""
from __future__ import annotations

import logging
import os
import sys
import traceback
from typing import NoReturn

import click
from neo4j.exceptions import DriverError, Neo4jError

from mllmrec.cli.common import AppContext
from mllmrec.db import connection_lost
from mllmrec.errors import MllmrecError

os.environ.setdefault("DGLBACKEND", "pytorch")


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("--config", "config_file", type=click.Path(dir_okay=False),
              help="YAML configuration file (defaults < file < environment < flags).")
@click.option("--dataset", "-d", help="Dataset name every command works on [default: ml-100k].")
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
@click.version_option(package_name="mllmrec")
@click.pass_context
def cli(ctx: click.Context, config_file: str | None, dataset: str | None, verbose: int) -> None:
    """MLLMRec on Neo4j: ingest a catalogue, enrich it with (multimodal) LLMs, refine the
    item-item graph in Cypher, train with DGL and serve recommendations from Neo4j.

    Typical order: neo4j start, ingest, describe-items, profile-users, embed, build-graph,
    train, recommend -- or all at once with 'pipeline run'.
    """
    global _verbosity, _uri
    _verbosity = verbose
    level = logging.WARNING - 10 * verbose
    logging.basicConfig(level=max(level, logging.DEBUG), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if verbose < 2:  # the driver logs each retry of a lost connection; the error says it once
        logging.getLogger("neo4j").setLevel(logging.ERROR)
    ctx.obj = AppContext(config_file=config_file, dataset=dataset)
    _uri = ctx.obj.settings.neo4j.uri
    ctx.call_on_close(ctx.obj.close)


def _register() -> None:
    from mllmrec.cli import commands  # noqa: F401  (each module adds its commands to `cli`)


_verbosity = 0
"""-v count of the running command: tracebacks of reported errors are shown from -vv on."""
_uri = "the configured Neo4j"
"""The Neo4j address of the running command, for errors raised after it connected."""


def _fail(message: str) -> NoReturn:
    if _verbosity >= 2:
        traceback.print_exc()
    click.secho(f"error: {message}", fg="red", err=True)
    sys.exit(1)


def main() -> None:
    """Entry point: run the CLI, print user errors (and lost connections to Neo4j) as one
    line and exit 1; with -vv also the traceback."""
    _register()
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except MllmrecError as exc:
        _fail(str(exc))
    except (DriverError, Neo4jError) as exc:
        _fail(connection_lost(exc, _uri))
