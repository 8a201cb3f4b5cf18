"""Data commands: ``db init``, ``db drop``, ``ingest <format>``, ``stats``."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from loaders import FORMATS
from mllmrec.cli import cli
from mllmrec.cli.common import AppContext, pass_app
from mllmrec.schema import init_schema

_existing = click.Path(exists=True, path_type=Path)


@cli.group("db")
def db_group() -> None:
    """Database schema and housekeeping."""


@db_group.command("init")
@pass_app
def db_init(app: AppContext) -> None:
    """Create constraints and indexes (idempotent; ingest also does it)."""
    n = init_schema(app.store)
    click.echo(f"schema ready ({n} constraints and indexes checked)")


@db_group.command("drop")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@pass_app
def db_drop(app: AppContext, yes: bool) -> None:
    """Delete every node and relationship of the dataset (others are untouched)."""
    from mllmrec.dataset import drop_dataset

    name = app.settings.dataset
    if not yes:
        click.confirm(f"Delete dataset '{name}' from {app.settings.neo4j.uri}?", abort=True)
    with app.lock("drop"):
        drop_dataset(app.store, name)
    click.echo(f"dataset '{name}' deleted")


class _FormatGroup(click.Group):
    """Names the known formats when an unknown one is asked for."""

    def resolve_command(self, ctx: click.Context, args: list[str]
                        ) -> tuple[str | None, click.Command | None, list[str]]:
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            raise click.UsageError(
                f"unknown format '{args[0]}'; known formats: {', '.join(FORMATS)}", ctx)
        return super().resolve_command(ctx, args)


@cli.group("ingest", cls=_FormatGroup)
@click.option("--kcore", type=int, help="Iterated k-core filter (0 = off) [default: 0].")
@click.option("--seed", type=int, help="Seed of the per-user random split [default: 2025].")
@click.option("--batch-size", type=int, help="Rows per write transaction [default: 10000].")
@click.option("--min-rating", type=float, help="Keep only interactions rated at least this.")
@click.option("--dedupe", is_flag=True, help="Keep the latest of duplicate (user, item) rows instead of failing.")
@click.option("--cold-items", type=click.FloatRange(0, 1, max_open=True),
              help="Cold-start protocol: hold out this seeded fraction of items entirely (all "
                   "their interactions to validation/test) [default: 0 = off].")
@click.option("--cold-users", type=click.FloatRange(0, 1, max_open=True),
              help="Cold-start protocol: hold out this seeded fraction of users entirely (text "
                   "from --cold-given interactions, never trained on or scored) [default: 0 = off].")
@click.option("--cold-given", type=click.IntRange(min=1),
              help="Cold users: oldest interactions their preference text is built from [default: 5].")
@pass_app
def ingest_group(app: AppContext, kcore: int | None, seed: int | None, batch_size: int | None,
                 min_rating: float | None, dedupe: bool, cold_items: float | None,
                 cold_users: float | None, cold_given: int | None) -> None:
    """Load a source into Neo4j as dataset --dataset.

    Everything is validated before the first write; a malformed file stops with its file,
    line and field and leaves the database as it was. Re-running the same ingest creates no
    duplicates, and re-running an interrupted one completes it. Sources without split labels
    are split per user at random (seeded): docs/method.md section 1. --cold-items / --cold-users
    make the cold-start split instead (docs/train.md, Cold start); it is labelled on the
    dataset, its nodes and every training run.
    """
    app.apply({"ingest.kcore": kcore, "ingest.seed": seed, "ingest.batch_size": batch_size,
               "ingest.implicit_min_rating": min_rating, "ingest.cold_items": cold_items,
               "ingest.cold_users": cold_users, "ingest.cold_given": cold_given})
    app.dedupe = dedupe


def _run_ingest(app: AppContext, fmt: str, path: Path, params: dict[str, Any],
                **extras: Any) -> None:
    from loaders import load
    from mllmrec.ingest import ingest

    s = app.settings
    cat = load(fmt, path, **extras)
    with app.lock("ingest"):
        report = ingest(app.store, s, cat, {"format": fmt, **params}, app.dedupe)
    click.echo(f"dataset '{s.dataset}': {report.users:,} users, {report.items:,} items, "
               f"{report.interactions:,} interactions (train/valid/test "
               f"{report.splits.get(0, 0):,}/{report.splits.get(1, 0):,}/{report.splits.get(2, 0):,}) "
               f"in {report.seconds:.1f}s ({report.rate:,.0f} interactions/s)")
    if s.ingest.cold:
        click.echo(f"COLD-START split: {report.cold_items:,} items and {report.cold_users:,} users "
                   f"held out (no training interaction); {report.splits.get(3, 0):,} given "
                   "interactions build cold users' texts and are not scored")


@ingest_group.command("movielens")
@click.argument("folder", type=_existing)
@click.option("--posters", type=_existing,
              help="Folder with ml100k_item_to_ml1m_poster.csv and the poster images.")
@pass_app
def ingest_movielens(app: AppContext, folder: Path, posters: Path | None) -> None:
    """MovieLens 100K folder (u.data, u.item)."""
    _run_ingest(app, "movielens", folder, {"folder": str(folder), "posters": str(posters or "")},
                posters=posters)


@ingest_group.command("amazon")
@click.argument("ratings", type=_existing)
@click.option("--meta", type=_existing, help="meta_<Category>.json(.gz) / .jsonl(.gz) metadata file.")
@click.option("--category", help="Domain for prompts [default: from the file name].")
@pass_app
def ingest_amazon(app: AppContext, ratings: Path, meta: Path | None, category: str | None) -> None:
    """Amazon reviews: 2014 ratings_<Category>.csv, or 2018/2023 JSON-lines reviews."""
    _run_ingest(app, "amazon", ratings, {"ratings": str(ratings), "meta": str(meta or "")},
                items=meta, category=category)


@ingest_group.command("mmrec")
@click.argument("folder", type=_existing)
@click.option("--name", help="Dataset file stem (<name>.inter) [default: the folder name].")
@click.option("--items", type=_existing, help="Item metadata CSV (item id, title, ...).")
@pass_app
def ingest_mmrec(app: AppContext, folder: Path, name: str | None, items: Path | None) -> None:
    """MMRec processed folder; its x_label split is kept as it is."""
    _run_ingest(app, "mmrec", folder, {"folder": str(folder), "name": name or ""},
                name=name, items=items)


@ingest_group.command("csv")
@click.argument("interactions", type=_existing)
@click.option("--items", type=_existing, help="Items CSV: id, title, description, ..., image.")
@click.option("--domain", default="products", show_default=True, help="What the items are (used in prompts).")
@pass_app
def ingest_csv(app: AppContext, interactions: Path, items: Path | None, domain: str) -> None:
    """Generic CSV: interactions (user, item[, rating][, timestamp]) and optional items."""
    _run_ingest(app, "csv", interactions,
                {"interactions": str(interactions), "items": str(items or "")},
                items=items, domain=domain)


@cli.command("stats")
@pass_app
def stats_cmd(app: AppContext) -> None:
    """Users, items, interactions per split and sparsity of the dataset."""
    from mllmrec.dataset import dataset_stats

    st = dataset_stats(app.store, app.settings.dataset)
    for line in st.lines():
        click.echo(line)
