"""Training commands: ``train``, ``evaluate``, ``recommend``, ``runs``."""
from __future__ import annotations

import json
from contextlib import nullcontext

import click

from mllmrec.cli import cli
from mllmrec.cli.common import AppContext, pass_app
from mllmrec.config import MODEL_NAMES


def metrics_table(metrics: dict[str, dict[str, float]]) -> list[str]:
    """Rows: metric@K; columns: splits."""
    splits = list(metrics)
    names = [k for k in next(iter(metrics.values())) if "@" in k]
    names.sort(key=lambda n: (n.split("@")[0], int(n.split("@")[1])))
    width = {s: max(10, len(s) + 2) for s in splits}  # cold-start groups have long names
    lines = [f"{'metric':<14}" + "".join(f"{s:>{width[s]}}" for s in splits)]
    lines += [f"{n:<14}" + "".join(f"{metrics[s][n]:>{width[s]}.4f}" for s in splits)
              for n in names]
    return lines


@cli.command("train")
@click.option("--model", type=click.Choice(MODEL_NAMES),
              help="Model [default: mllmrec]; hybrid = MLLMRec's towers plus LightGCN ID embeddings.")
@click.option("--epochs", type=int, help="Maximum epochs [default: 1000].")
@click.option("--patience", type=int,
              help="Early-stop after this many epochs without a better valid Recall@20 [default: 20].")
@click.option("--eval-every", type=click.IntRange(min=1),
              help="Validate every N epochs (and after the last); patience still counts "
                   "epochs. Saves full-ranking passes on large catalogues [default: 1].")
@click.option("--dim", type=int, help="Output dimension d [default: 64].")
@click.option("--lr", type=float, help="Adam learning rate [default: 0.001].")
@click.option("--batch-size", type=int, help="BPR triples per step [default: 2048].")
@click.option("--seed", type=int, help="Random seed [default: 2025].")
@click.option("--n-ii-layers", type=int, help="Item-item propagation layers L [default: 1].")
@click.option("--ui-gcn/--no-ui-gcn", default=None, help="MLLMRec variant with a user-item LightGCN [default: off].")
@click.option("--n-ui-layers", type=int, help="User-item layers (UI-GCN variant, LightGCN) [default: 2].")
@click.option("--user-pref/--no-user-pref", default=None,
              help="User side from preference embeddings, or free ID embeddings [default: on].")
@click.option("--negatives", type=click.Choice(["all", "interacted"]),
              help="BPR negatives from all items, or only items with a training interaction [default: all].")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), help="[default: auto].")
@click.option("--minibatch/--full-graph", default=None,
              help="LightGCN / --ui-gcn: per batch, propagate only on user-item blocks sampled "
                   "around its users and items [default: full-graph].")
@click.option("--fanout", type=int,
              help="Mini-batch: neighbours sampled per node and hop, -1 = all (exact) [default: -1].")
@click.option("--topk", "topks", type=int, multiple=True, help="Cut-offs K (repeatable) [default: 10 20].")
@click.option("--eval-batch-size", type=int, help="Users ranked per evaluation step [default: 1024].")
@click.option("--threads", type=int,
              help="CPU threads of torch/DGL kernels [default: library default; 1 with --deterministic].")
@click.option("--deterministic/--no-deterministic", default=None,
              help="Same seed, same weights and metrics: deterministic torch kernels, one CPU "
                   "thread unless --threads [default: off].")
@click.option("--runs-dir", type=click.Path(file_okay=False), help="Checkpoints and plots [default: .mllmrec/runs].")
@click.option("--init-run", help="Warm-start from this run's checkpoint.")
@click.option("--no-serve", is_flag=True, help="Store the vectors but keep the current serving run.")
@click.option("--nproc", type=click.IntRange(min=1), default=1, show_default=True,
              help="Data-parallel processes on this machine (runs this command under torchrun; "
                   "DistributedDataParallel, gloo on CPU, NCCL on GPU; --batch-size is the global batch).")
@pass_app
def train_cmd(app: AppContext, model: str | None, epochs: int | None, patience: int | None,
              eval_every: int | None, dim: int | None, lr: float | None, batch_size: int | None, seed: int | None,
              n_ii_layers: int | None, ui_gcn: bool | None, n_ui_layers: int | None,
              user_pref: bool | None, negatives: str | None, device: str | None, minibatch: bool | None,
              fanout: int | None, topks: tuple[int, ...], eval_batch_size: int | None,
              threads: int | None, deterministic: bool | None, runs_dir: str | None,
              init_run: str | None, no_serve: bool, nproc: int) -> None:
    """Train on the dataset (docs/method.md sections 6-7), evaluate, and write the run back.

    Pulls embeddings, interactions and the item-item graph from Neo4j; trains with BPR and
    early stopping on validation Recall@20; reports validation and test metrics at the best
    validation epoch; stores the 64-d vectors and a (:TrainingRun) node; saves the checkpoint
    (safetensors) and a training-curve PNG under --runs-dir. The new run serves
    recommendations only once all its vectors are written.

    With --nproc N, N processes each train on a disjoint share of every batch and average
    gradients; rank 0 evaluates, checkpoints and writes to Neo4j (one TrainingRun).
    Equivalent: torchrun --standalone --nproc-per-node N -m mllmrec [-d NAME] train ...
    """
    import sys

    from mllmrec.train.distributed import is_main_rank, launch, under_launcher
    from mllmrec.train.job import train_model

    if nproc > 1 and not under_launcher():
        raise SystemExit(launch(nproc, sys.argv[1:]))

    s = app.apply({"train.model": model, "train.epochs": epochs, "train.patience": patience,
                   "train.eval_every": eval_every, "train.dim": dim, "train.lr": lr, "train.batch_size": batch_size,
                   "train.seed": seed, "train.n_ii_layers": n_ii_layers, "train.ui_gcn": ui_gcn,
                   "train.n_ui_layers": n_ui_layers, "train.use_user_pref": user_pref,
                   "train.negatives": negatives, "train.device": device,
                   "train.minibatch": minibatch, "train.fanout": fanout,
                   "train.topks": list(topks) or None, "train.eval_batch_size": eval_batch_size,
                   "train.threads": threads, "train.deterministic": deterministic,
                   "train.runs_dir": runs_dir})
    # Under torchrun only rank 0 writes, so only rank 0 takes the dataset's train lock.
    with app.lock("train") if is_main_rank() else nullcontext():
        r = train_model(app.store, s, init_run=init_run, serve=not no_serve)
    if r is None:  # a data-parallel rank other than 0: rank 0 reports
        return
    click.echo(f"run {r.run_id} ({r.model}, {r.device}): best epoch {r.best_epoch} of {r.epochs}, "
               f"{r.seconds_per_epoch:.2f}s/epoch, {r.seconds:.1f}s total, peak {r.peak_memory_mb:.0f} MB")
    if r.user_text_scope != "train":
        click.echo(f"LEAKY: user texts of history scope '{r.user_text_scope}' (validation and test "
                   "items in them): these metrics are for comparison only")
    if r.cold:
        click.echo(f"COLD-START split ({r.cold}): metrics per group of targets: warm, "
                   "cold_items (ranked among all items), cold_among_cold, cold_users")
    for line in metrics_table({k: v for k, v in r.metrics.items()}):
        click.echo(line)
    click.echo(f"checkpoint and curve: {r.run_dir}" + ("" if r.served else " (not serving)"))


@cli.command("evaluate")
@click.option("--topk", "topks", type=int, multiple=True, help="Cut-offs K (repeatable) [default: 10 20].")
@click.option("--eval-batch-size", type=int, help="Users ranked per step [default: 1024].")
@click.option("--reference", type=click.Choice(["popularity", "text-knn-max", "text-knn-mean", "random"]),
              help="Score a reference method without learning instead of the serving run.")
@pass_app
def evaluate_cmd(app: AppContext, topks: tuple[int, ...], eval_batch_size: int | None,
                 reference: str | None) -> None:
    """Metrics of the serving run computed from the vectors stored in Neo4j (full ranking,
    training items masked), next to the numbers the run recorded when it was trained. With
    --reference, the metrics of a method that does not learn (popularity, text-kNN, random)
    on the same split. A cold-start split reports every group of targets."""
    from mllmrec.train.record import evaluate_stored
    from mllmrec.train.reference import evaluate_reference

    s = app.apply({"train.topks": list(topks) or None, "train.eval_batch_size": eval_batch_size})
    if reference:
        metrics = evaluate_reference(app.store, s.dataset, reference, s.train.topks,
                                     s.train.eval_batch_size, s.train.seed)
        click.echo(f"reference method {reference} on '{s.dataset}' (no learning):")
        for line in metrics_table(metrics):
            click.echo(line)
        return
    run, metrics = evaluate_stored(app.store, s.dataset, s.train.topks, s.train.eval_batch_size)
    click.echo(f"serving run {run} of '{s.dataset}', from stored vectors:")
    for line in metrics_table(metrics):
        click.echo(line)


@cli.command("recommend")
@click.option("--user", "-u", required=True, help="User id.")
@click.option("-k", "k", type=int, default=10, show_default=True, help="How many items.")
@click.option("--exact", is_flag=True, help="Scan every item instead of using the vector index.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@pass_app
def recommend_cmd(app: AppContext, user: str, k: int, exact: bool, as_json: bool) -> None:
    """Top-k items for a user from the serving run's vectors in Neo4j, excluding the items the
    user already has, each with a reason from the item-item graph. Items and users served from
    their text by 'refresh' since the last training are marked "new: from text"."""
    from dataclasses import asdict

    from mllmrec.serve import recommend_for

    served = recommend_for(app.store, app.settings.dataset, user, k, exact=exact)
    recs = served.items
    if as_json:
        click.echo(json.dumps([asdict(r) for r in recs], indent=1))
        return
    if served.user_inductive:
        click.echo(f"user {user} (new: from text): served from their preference text since the "
                   "last training")
    for n, r in enumerate(recs, 1):
        new = "  (new: from text)" if r.inductive else ""
        click.echo(f"{n:>3}. {r.title or r.item_id}  [{r.item_id}]  score {r.score:.3f}{new}")
        click.echo(f"     because: {r.because}")


@cli.command("refresh")
@pass_app
def refresh_cmd(app: AppContext) -> None:
    """Serve new items and users from their text vectors with the serving run's weights, no
    training: items and users that have a text vector (embed) but no vector of the serving run
    join the active item-item graph (the build's own knn_k and pure) and get the vectors the
    trained model computes for them, marked as inductive. Existing items keep their trained
    vectors; the next train or retrain folds everything in. BPR-MF and LightGCN runs cannot
    embed from text: the new entities stay unserved.
    """
    from mllmrec.ops.refresh import refresh

    with app.lock("refresh"):
        report = refresh(app.store, app.settings)
    for line in report.lines():
        click.echo(line)


@cli.command("runs")
@click.option("--limit", type=int, default=10, show_default=True)
@pass_app
def runs_cmd(app: AppContext, limit: int) -> None:
    """Training runs of the dataset, newest first (the serving one marked *)."""
    rows = app.store.run("train/runs", dataset=app.settings.dataset, limit=limit)
    if not rows:
        click.echo(f"no training runs for '{app.settings.dataset}'")
    for r in rows:
        m = json.loads(r["metrics"]) if r["metrics"] else {}
        test = m.get("test", {})
        mark = "*" if r["serving"] else " "
        click.echo(f"{mark} {r['id']}  {r['model']:<9} {r['status']:<8} {r['started_at'][:19]}  "
                   f"test R@20 {test.get('recall@20', float('nan')):.4f}  "
                   f"N@20 {test.get('ndcg@20', float('nan')):.4f}"
                   + ("  LEAKY user texts" if r["user_text_scope"] != "train" else "")
                   + (f"  COLD-START (items {r['cold_items'] or 0:g}, users {r['cold_users'] or 0:g})"
                      if r["cold_items"] is not None or r["cold_users"] is not None else ""))
