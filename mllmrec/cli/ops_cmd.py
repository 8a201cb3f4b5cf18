"""Operating commands: ``pipeline run``, ``retrain`` (once or ``--every``), ``status``,
``explore``."""
from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table
from tqdm.auto import tqdm

from mllmrec.cli import cli
from mllmrec.cli.common import AppContext, parse_sets, pass_app
from mllmrec.config import MODEL_NAMES

_console = Console()


def _quiet_driver() -> None:
    """Neo4j warns about property keys no run has written yet (e.g. before the first
    training); expected here, so only driver errors are shown."""
    logging.getLogger("neo4j.notifications").setLevel(logging.ERROR)


def _setting_flags(func: Callable[..., Any]) -> Callable[..., Any]:
    """Flags shared by ``pipeline run`` and ``retrain`` that override the configuration."""
    options = [
        click.option("--no-llm", is_flag=True, default=None,
                     help="Enrich without generative models: item text from metadata, user text "
                          "= behavioural list (enrich.no_llm)."),
        click.option("--epochs", type=int, help="Training epochs (train.epochs)."),
        click.option("--model", type=click.Choice(MODEL_NAMES),
                     help="Model to train (train.model)."),
        click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]),
                     help="Device for models and training (enrich.device and train.device)."),
        click.option("--set", "sets", multiple=True, metavar="KEY=VALUE",
                     help="Any setting, e.g. --set graph.pure=0.6 --set train.patience=5."),
        click.option("--force", multiple=True, metavar="STAGE",
                     help="Run STAGE even if its inputs are unchanged ('all' for every stage)."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _apply(app: AppContext, no_llm: bool | None, epochs: int | None, model: str | None,
           device: str | None, sets: tuple[str, ...], extra: dict[str, Any] | None = None) -> None:
    """``extra`` (e.g. a study's best parameters), then the shared flags given, then ``--set``."""
    flags = {"enrich.no_llm": no_llm, "train.epochs": epochs, "train.model": model,
             "enrich.device": device, "train.device": device}
    app.apply({**(extra or {}), **{k: v for k, v in flags.items() if v is not None},
               **parse_sets(sets)})


def _print_step(step: Any) -> None:
    """One line per stage, printed above the pipeline's progress bar."""
    counts = ", ".join(f"{k} {v}" for k, v in _scalars(step.summary).items())
    tail = step.note or counts
    tqdm.write(f"{step.status:>9} {step.stage:<12} {step.seconds:7.1f}s  {tail}")


def _scalars(summary: dict[str, Any]) -> dict[str, Any]:
    """The short, printable part of a stage's summary."""
    out = {}
    for key, value in summary.items():
        if key in ("seconds", "dataset") or isinstance(value, (dict, list)):
            continue
        if isinstance(value, float):
            value = round(value, 4)
        if isinstance(value, (int, float)) or (isinstance(value, str) and len(value) <= 40):
            out[key] = value
    return out


def _summary_table(report: Any) -> Table:
    table = Table(title=f"pipeline summary: dataset '{report.dataset}'")
    for col in ("stage", "outcome", "seconds", "counts / note"):
        table.add_column(col, justify="right" if col == "seconds" else "left")
    for s in report.steps:
        counts = ", ".join(f"{k}={v}" for k, v in _scalars(s.summary).items())
        table.add_row(s.stage, s.status, f"{s.seconds:.1f}", s.note or counts)
    table.add_row("total", "", f"{report.seconds:.1f}", "")
    return table


def _show_results(app: AppContext, user: str | None, k: int) -> None:
    """Dataset counts, the serving run's metrics and a few recommendations for one user."""
    from mllmrec.ops.recommend import sample_recommendations
    from mllmrec.ops.status import dataset_status, run_metrics

    st = dataset_status(app.store, app.settings.dataset)
    _console.print("  ".join(st.stats.lines()[1:4]).replace("  ", " ").strip(), highlight=False)
    if st.serving:
        metrics = run_metrics(st.serving["props"])
        shown = ", ".join(f"{key} {metrics[key]:.4f}" for key in sorted(metrics)
                          if "recall" in key.lower() or "ndcg" in key.lower())
        _console.print(f"serving run {st.serving['id']}: {shown}", highlight=False)
    user_id, rows = sample_recommendations(app.store, app.settings.dataset, user, k)
    table = Table(title=f"top {k} for user {user_id}")
    columns = list(rows[0]) if rows else ["(none)"]
    for col in columns:
        table.add_column(str(col))
    for row in rows:
        table.add_row(*(f"{v:.4f}" if isinstance(v, float) else str(v) for v in row.values()))
    _console.print(table)


@cli.group("pipeline")
def pipeline_group() -> None:
    """Run every stage in order, skipping those whose inputs did not change."""


@pipeline_group.command("run")
@click.option("--source", nargs=2, metavar="FORMAT PATH",
              help="Ingest this source first: movielens FOLDER, amazon RATINGS, mmrec FOLDER or "
                   "csv INTERACTIONS.")
@click.option("--posters", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="MovieLens posters folder (with ml100k_item_to_ml1m_poster.csv).")
@click.option("--items", type=click.Path(exists=True, path_type=Path),
              help="Item metadata file for amazon (meta JSON), csv or mmrec sources.")
@click.option("--domain", help="What the items are, for prompts (csv, amazon) [default: csv "
                               "'products', amazon from the file name].")
@click.option("--dedupe", is_flag=True, help="Keep the latest of duplicate (user, item) rows of "
                                             "the source instead of failing.")
@_setting_flags
@click.option("--wait", default=0.0, show_default=True, type=float,
              help="Seconds to wait while a retrain holds the dataset's lock.")
@click.option("--user", help="User to show recommendations for [default: a sample user].")
@click.option("-k", "k", default=10, show_default=True, help="Recommendations to show.")
@pass_app
def pipeline_run(app: AppContext, source: tuple[str, str] | None, posters: Path | None,
                 items: Path | None, domain: str | None, dedupe: bool, no_llm: bool | None,
                 epochs: int | None, model: str | None,
                 device: str | None, sets: tuple[str, ...], force: tuple[str, ...],
                 wait: float, user: str | None, k: int) -> None:
    """Ingest (with --source), describe, profile, embed, build-graph, train.

    Each stage is skipped when its parameters and the inputs it reads from Neo4j are unchanged
    since its last successful run (fingerprints on its StageRun); --force STAGE runs it anyway.
    Holds the dataset's lock, so it never overlaps a retrain.
    Ends with a summary per stage, the serving run's metrics and a few recommendations.
    """
    _quiet_driver()
    from mllmrec.ops.lock import dataset_lock
    from mllmrec.ops.pipeline import Source, run_pipeline

    _apply(app, no_llm, epochs, model, device, sets)
    src = None
    if source:
        path = Path(source[1])
        if not path.exists():
            raise click.BadParameter(f"{path} does not exist", param_hint="--source")
        src = Source(source[0], path, posters, items, domain, dedupe)
    s = app.settings
    _console.print(f"dataset '{s.dataset}' on {s.neo4j.uri}", highlight=False)
    _console.print(f"enrichment mode: {_mode(s)}", highlight=False)
    try:
        with dataset_lock(app.store, s.dataset, wait=wait, purpose="pipeline run"):
            report = run_pipeline(app.store, s, src, force=force, on_step=_print_step)
    except Exception as exc:
        partial = getattr(exc, "report", None)
        if partial is not None:
            _console.print(_summary_table(partial))
        raise
    _console.print(_summary_table(report))
    _show_results(app, user, k)


def _mode(settings: Any) -> str:
    from mllmrec.ops.pipeline import enrichment_mode

    return enrichment_mode(settings)


@cli.command("retrain")
@click.option("--wait", default=0.0, show_default=True, type=float,
              help="Seconds to wait for another retrain's lock before giving up.")
@click.option("--every", metavar="INTERVAL",
              help="Run forever, one cycle per INTERVAL (e.g. 6h, 30m, 1d); stop with SIGTERM.")
@click.option("--lock-ttl", default=300.0, show_default=True, type=float,
              help="Seconds a lock lives without renewal (a crashed retrain frees it after this).")
@click.option("--from-study", "from_study", metavar="NAME",
              help="Train with the best parameters of this tuning study ('mllmrec tune'; "
                   "its storage: tune.storage or --set tune.storage=URL). Other flags win.")
@_setting_flags
@pass_app
def retrain_cmd(app: AppContext, wait: float, every: str | None, lock_ttl: float,
                from_study: str | None,
                no_llm: bool | None, epochs: int | None, model: str | None, device: str | None,
                sets: tuple[str, ...], force: tuple[str, ...]) -> None:
    """Incremental cycle after new data: describe new items, re-profile users whose training
    history changed, re-embed changed texts, rebuild the graph, retrain (warm start), and serve
    the new run only if it finished (and, with train.max_recall_drop, only if its valid
    Recall@20 did not drop by more than that). A lock in Neo4j keeps one retrain per dataset.
    With --from-study NAME, the study's best parameters are the configuration.
    """
    _quiet_driver()
    from mllmrec.ops.retrain import retrain
    from mllmrec.ops.scheduler import Scheduler, parse_interval

    _apply(app, no_llm, epochs, model, device, sets)
    if from_study:
        from mllmrec.tune.winner import best_overrides

        best = best_overrides(app.settings.with_overrides({"tune.study_name": from_study}))
        _console.print("parameters of study '" + from_study + "': "
                       + ", ".join(f"{k}={v}" for k, v in best.items()), highlight=False)
        _apply(app, no_llm, epochs, model, device, sets, extra=best)
    interval = parse_interval(every) if every else None
    s = app.settings

    def cycle(progress: bool = True, on_step: Any = _print_step) -> str:
        report = retrain(app.store, s, wait=wait, ttl=lock_ttl, force=force,
                         on_step=on_step, progress=progress)
        return "; ".join(report.lines())

    if interval is None:
        _console.print(f"enrichment mode: {_mode(s)}", highlight=False)
        for line in cycle().split("; "):
            _console.print(line, highlight=False)
        return
    logging.getLogger("mllmrec.ops.scheduler").setLevel(logging.INFO)
    logging.getLogger("mllmrec.ops.scheduler").info(
        "retraining dataset '%s' every %s (%s)", s.dataset, every, _mode(s))
    Scheduler(functools.partial(cycle, False, None), interval).run()


@cli.command("status")
@pass_app
@click.pass_context
def status_cmd(ctx: click.Context, app: AppContext) -> None:
    """Per dataset: contents, each stage's newest run (parameters, outcome), the serving run
    and its metrics, and whether a retrain holds the lock. All datasets unless --dataset."""
    _quiet_driver()
    from mllmrec.ops.status import dataset_status, datasets, render

    chosen = ctx.find_root().params.get("dataset")
    names = [chosen] if chosen else datasets(app.store)
    if not names:
        _console.print("no datasets yet: run 'mllmrec pipeline run --source ...'")
    for name in names:
        render(dataset_status(app.store, name), _console)


@cli.command("explore")
@click.argument("name", required=False)
@click.option("--param", "params", multiple=True, metavar="NAME=VALUE",
              help="Query parameter (the dataset comes from --dataset).")
@click.option("--show", is_flag=True,
              help="Print the query text to paste into Neo4j Browser, its '// :param' lines "
                   "giving the values used (defaults, --dataset, --param).")
@click.option("--browser", is_flag=True,
              help="Print a Neo4j Browser URL (server of neo4j.uri, port neo4j.http_port) whose "
                   "editor holds the :params line and the query: press Run for the graph view. "
                   "Also prints the :param lines to paste by hand. Does not query the database.")
@click.option("--open", "open_browser", is_flag=True,
              help="With --browser: also open the URL in the default web browser.")
@click.option("--style", is_flag=True,
              help="Print the :style command that gives Browser the project's style (colours "
                   "per label, item titles as captions, edge weights); paste and run it once.")
@pass_app
def explore_cmd(app: AppContext, name: str | None, params: tuple[str, ...], show: bool,
                browser: bool, open_browser: bool, style: bool) -> None:
    """Without NAME: list the Neo4j Browser queries in cypher/explore/. With NAME: run it and
    print its rows (or, with --show, print the text to paste into Browser; with --browser, a
    Browser URL that opens it with the parameters filled in). Style: docs/browser.md."""
    _quiet_driver()
    from mllmrec.ops.explore import (
        browser_link,
        get_query,
        list_queries,
        run_explore,
        run_graph,
        show_text,
        style_command,
    )

    if style:
        click.echo(style_command())
        return
    if name is None:
        table = Table(title="cypher/explore queries (mllmrec explore NAME --param k=v)")
        table.add_column("name", no_wrap=True)
        table.add_column("what it shows")
        table.add_column("parameters")
        for q in list_queries():
            table.add_row(q.name, q.summary, ", ".join(f"{k}={v}" for k, v in q.defaults.items()))
        _console.print(table)
        return
    overrides = {}
    for p in params:
        key, sep, value = p.partition("=")
        if not sep:
            raise click.BadParameter(f"expected NAME=VALUE, got '{p}'", param_hint="--param")
        overrides[key] = value
    if show:
        q = get_query(name)
        click.echo(show_text(q, q.params(app.settings.dataset, overrides)))
        return
    if browser or open_browser:
        q = get_query(name)
        link = browser_link(q, q.params(app.settings.dataset, overrides), app.settings.neo4j)
        click.echo("Open in Neo4j Browser (log in, then press Run; the parameter values are "
                   f"written into the query):\n{link.url}\n")
        click.echo("Or run these :param lines in Browser, then the query of "
                   f"'mllmrec explore {name} --show':")
        click.echo("\n".join(link.param_lines))
        if open_browser:
            import webbrowser

            webbrowser.open(link.url)
        return
    if get_query(name).graph_view:
        _console.print(_graph_table(name, run_graph(app.store, name, app.settings.dataset, overrides)))
        return
    rows = run_explore(app.store, name, app.settings.dataset, overrides)
    table = Table(title=f"{name}: {len(rows)} rows")
    for col in (rows[0] if rows else {"(no rows)": None}):
        table.add_column(col)
    for row in rows:
        table.add_row(*(_cell(v) for v in row.values()))
    _console.print(table)


def _graph_table(name: str, result: Any) -> Table:
    """A graph view in the terminal: one line per relationship, captioned as in Browser."""
    from collections import Counter

    from mllmrec.ops.explore import caption

    labels = Counter(label for n in result.nodes for label in n.labels)
    table = Table(title=f"{name}: " + ", ".join(f"{c} {k}" for k, c in sorted(labels.items()))
                  + f", {len(result.relationships)} relationships (--browser for the picture)")
    for col in ("from", "relationship", "weight", "to"):
        table.add_column(col)
    for r in sorted(result.relationships, key=lambda r: (r.type, caption(r.start_node))):
        weight = next((r.get(k) for k in ("jaccard", "cosine", "rating") if r.get(k) is not None), None)
        table.add_row(caption(r.start_node), r.type, _cell(weight), caption(r.end_node))
    return table


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4f}"
    text = str(value)
    return text if len(text) <= 80 else text[:79] + "…"
