"""Item-item graph commands: ``build-graph`` and ``graph-stats``."""
from __future__ import annotations

import click

from mllmrec.cli import cli
from mllmrec.cli.common import AppContext, pass_app


@cli.command("build-graph")
@click.option("--knn-k", type=int, help="Semantic neighbours per item, itself included [default: 10].")
@click.option("--knn-jac", type=int, help="Co-occurrence neighbours per item (0 = none) [default: 10].")
@click.option("--pure", type=float, help="Keep semantic neighbours with cosine >= this [default: 0.7].")
@click.option("--approximate/--exact", default=None,
              help="Semantic kNN through the vector index or by brute force [default: "
                   "approximate above graph.approximate_above = 5,000 items, exact below]. "
                   "Approximate builds report recall against exact on a sample.")
@click.option("--batch-items", type=int, help="Source items per transaction [default: 500].")
@click.option("--index-candidates", type=int,
              help="Approximate mode: dataset items asked from the vector index per item [default: 30].")
@click.option("--rebuild-index/--keep-index", default=None,
              help="Approximate mode: rebuild the item vector index before searching (a "
                   "fresh index is one segment; one grown by many writes searches 2-4x "
                   "slower) [default: when this dataset holds at least half of its items]. "
                   "Other datasets' approximate builds must not run meanwhile.")
@click.option("--recall-sample", type=int,
              help="Approximate mode: items whose exact kNN measures recall (0 = skip) [default: 100].")
@pass_app
def build_graph_cmd(app: AppContext, knn_k: int | None, knn_jac: int | None, pure: float | None,
                    approximate: bool | None, batch_items: int | None,
                    index_candidates: int | None, recall_sample: int | None,
                    rebuild_index: bool | None) -> None:
    """Build the item-item graphs of docs/method.md section 5 in Neo4j.

    CO_OCCURS: each item's top --knn-jac other items by the Jaccard index of their training
    audiences (validation and test interactions are never read), ties by item id.
    SIMILAR: each item's top --knn-k items by cosine of the text embeddings (itself included,
    stored as a self-loop), kept when cosine >= --pure; the stored weight is the real cosine.

    The build becomes the dataset's one active build: it replaces the edges of earlier builds
    (their GraphBuild nodes stay as history); a failed build leaves the previous one intact.
    """
    from mllmrec.graph.build import build_graph

    s = app.apply({"graph.knn_k": knn_k, "graph.knn_jac": knn_jac, "graph.pure": pure,
                   "graph.approximate": approximate, "graph.batch_items": batch_items,
                   "graph.index_candidates": index_candidates,
                   "graph.recall_sample": recall_sample, "graph.rebuild_index": rebuild_index})
    with app.lock("build-graph"):
        report = build_graph(app.store, s)
    for line in report.lines():
        click.echo(line)


@cli.command("graph-stats")
@pass_app
def graph_stats_cmd(app: AppContext) -> None:
    """Edges per type, degree distributions, items without edges and the neighbours the
    semantic threshold removed, for the dataset's active graph build."""
    from mllmrec.graph.stats import graph_stats

    for line in graph_stats(app.store, app.settings.dataset).lines():
        click.echo(line)
