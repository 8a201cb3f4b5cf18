"""``mllmrec neo4j install|start|stop|status``: the project's own local Neo4j server."""
from __future__ import annotations

from pathlib import Path

import click

from mllmrec import neo4j_server
from mllmrec.cli import cli
from mllmrec.cli.common import AppContext, pass_app

_home = click.option(
    "--home", type=click.Path(file_okay=False, path_type=Path),
    help="Server folder (conf, data, logs, credentials) [default: neo4j.home = .mllmrec/neo4j].",
)


@cli.group("neo4j")
def neo4j_group() -> None:
    """Run a real Neo4j 5.26 Community server locally, without Docker.

    The server and Neo4j Browser jars come from Maven Central once (into ~/.cache/mllmrec or
    $MLLMREC_CACHE); each --home folder keeps its own data. The server listens on 127.0.0.1
    only, with a generated password stored in HOME/credentials unless NEO4J_PASSWORD is set.
    """


@neo4j_group.command("install")
@click.option("--force", is_flag=True, help="Fetch the jars again even if present.")
def install_cmd(force: bool) -> None:
    """Fetch the server and Browser jars (needs Java 17 and Maven)."""
    lib = neo4j_server.install(force=force)
    click.echo(f"Neo4j {neo4j_server.NEO4J_VERSION} jars in {lib}")


@neo4j_group.command("start")
@_home
@click.option("--timeout", default=180.0, show_default=True, help="Seconds to wait for Bolt.")
@pass_app
def start_cmd(app: AppContext, home: Path | None, timeout: float) -> None:
    """Start the server (installing it first if needed) and wait until Bolt answers."""
    s = app.apply({"neo4j.home": home}).neo4j
    pid = neo4j_server.start(s, timeout=timeout)
    click.echo(f"Neo4j running (pid {pid}): bolt://127.0.0.1:{s.bolt_port}, "
               f"Browser http://127.0.0.1:{s.http_port}/browser/")


@neo4j_group.command("stop")
@_home
@pass_app
def stop_cmd(app: AppContext, home: Path | None) -> None:
    """Stop the server cleanly."""
    s = app.apply({"neo4j.home": home}).neo4j
    click.echo("stopped" if neo4j_server.stop(s) else "not running")


@neo4j_group.command("status")
@_home
@pass_app
def status_cmd(app: AppContext, home: Path | None) -> None:
    """Show whether the server is installed, running and answering."""
    s = app.apply({"neo4j.home": home}).neo4j
    for line in neo4j_server.status(s).lines(s):
        click.echo(line)
