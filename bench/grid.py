"""Grid search over the item-item graph settings ``knn_k``, ``knn_jac`` and ``pure`` for
MLLMRec, reporting the configuration chosen on VALIDATION Recall@20 (this project's rule,
METHOD.md section 7) beside the one the TEST split would choose (what the authors' grid
script reports), with the test scores of both.

Each grid point rebuilds the item-item graph (``build-graph``) and trains every seed with
the real trainer; points are ordered so consecutive points share as much as possible. The
test split never decides anything here: the test-chosen row is printed only to measure how
optimistic that choice is.

Run: ``python -m bench.grid [--knn-k 5,10] [--knn-jac 10] [--pure 0.5,0.7] [--seeds 2025]
[--history-scope train|all] [--max-epochs 1000] [--patience 20] [--dataset NAME --reuse]
[--out grid.json]``. Uses the server NEO4J_URI names, else starts a temporary one.
"""
from __future__ import annotations

import argparse
import itertools
import json
import logging
import os
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("DGLBACKEND", "pytorch")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from bench.common import environment, neo4j_for_bench  # noqa: E402
from bench.train_runs import repeat  # noqa: E402
from mllmrec.config import Settings  # noqa: E402
from mllmrec.db import Graph, connect  # noqa: E402

log = logging.getLogger("bench.grid")

KEYS = ("knn_k", "knn_jac", "pure")
#: The default grid: small on purpose (each point is a graph build plus a training run per
#: seed); it contains the default configuration (10, 10, 0.7).
DEFAULT_GRID: dict[str, tuple[float, ...]] = {"knn_k": (5, 10), "knn_jac": (10,), "pure": (0.7,)}
SELECT_METRIC = "recall@20"


def points(grid: dict[str, Sequence[float]]) -> list[dict[str, Any]]:
    """Every combination of the grid's values, as ``{"knn_k": .., "knn_jac": .., "pure": ..}``."""
    return [dict(zip(KEYS, combo)) for combo in itertools.product(*(grid[k] for k in KEYS))]


def prepare_users(graph: Graph, settings: Settings) -> None:
    """Profile and embed the users with ``settings.enrich`` (history scope, no-LLM path): a
    no-op for users whose text is already up to date."""
    from mllmrec.enrich.embed import embed_texts
    from mllmrec.enrich.profile import profile_users

    profile_users(graph, settings)
    embed_texts(graph, settings)


def built(settings: Settings) -> dict[str, Any]:
    """The grid point of ``settings.graph``."""
    return {k: getattr(settings.graph, k) for k in KEYS}


def run_grid(graph: Graph, settings: Settings, grid: list[dict[str, Any]], seeds: Sequence[int],
             current: dict[str, Any] | None = None, first: dict[str, Any] | None = None,
             on_point: Callable[[list[dict[str, Any]]], None] | None = None,
             ) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """Train MLLMRec at every grid point with every seed on ``settings.dataset`` (whose user
    texts must already be in the wanted scope). ``current`` is the graph configuration now
    built in Neo4j (its point is trained first, without a rebuild); ``first``, an existing
    run of that point with ``seeds[0]``, is reused. Returns one aggregated row per point, in
    grid order, with its ``config``, and the configuration left built. ``on_point`` sees the
    rows finished so far (grid order) after each training run; a point still short of seeds
    lists only the seeds it has."""
    from mllmrec.graph.build import build_graph

    order = sorted(grid, key=lambda p: p != current)
    rows: dict[int, dict[str, Any]] = {}
    for point in order:
        s = settings.with_overrides({"train.model": "mllmrec",
                                     **{f"graph.{k}": v for k, v in point.items()}})
        reused = first if point == current and first and first["seed"] == seeds[0] else None
        if point != current:
            log.info("grid: building the item-item graph for %s", point)
            build_graph(graph, s)
            current = point
        label = ", ".join(f"{k}={v}" for k, v in point.items())
        def row(agg: dict[str, Any], point: dict[str, Any] = point, label: str = label
                ) -> dict[str, Any]:
            return {**agg, "config": point, "label": label}

        def progress(agg: dict[str, Any], i: int = grid.index(point)) -> None:
            if on_point:  # the point with the seeds finished so far
                on_point([{**rows, i: row(agg)}[k] for k in sorted({*rows, i})])

        rows[grid.index(point)] = row(repeat(graph, s, seeds, label=label, first=reused,
                                             on_run=progress))
        if on_point:
            on_point([rows[i] for i in sorted(rows)])
    return [rows[i] for i in range(len(grid))], current


def select(rows: list[dict[str, Any]], split: str, metric: str = SELECT_METRIC) -> dict[str, Any]:
    """The row with the best mean ``split`` ``metric`` (first in grid order on ties)."""
    return max(rows, key=lambda r: (r[split][metric], -rows.index(r)))


def choices(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The configuration chosen on validation and the one the test split would choose, each
    with its mean/std validation and test metrics."""
    out = {}
    for split in ("valid", "test"):
        r = select(rows, split)
        out[split] = {"config": r["config"], "valid": r["valid"], "test": r["test"],
                      "test_std": r["test_std"], "seeds": r["seeds"]}
    return out


def table(rows: list[dict[str, Any]]) -> str:
    """A plain-text table of the grid (mean +- std over seeds)."""
    head = (f"{'knn_k':>6}{'knn_jac':>8}{'pure':>6}{'valid R@20':>13}{'test R@20':>19}"
            f"{'test N@20':>19}{'epochs':>14}")
    lines = [head, "-" * len(head)]
    for r in rows:
        c = r["config"]
        lines.append(f"{c['knn_k']:>6}{c['knn_jac']:>8}{c['pure']:>6}{r['valid']['recall@20']:>13.4f}"
                     f"{r['test']['recall@20']:>11.4f} ± {r['test_std']['recall@20']:.4f}"
                     f"{r['test']['ndcg@20']:>11.4f} ± {r['test_std']['ndcg@20']:.4f}"
                     f"{'/'.join(map(str, r['epochs'])):>14}")
    return "\n".join(lines)


def _floats(text: str) -> tuple[float, ...]:
    return tuple(float(x) for x in text.split(",") if x.strip())


def _ints(text: str) -> tuple[int, ...]:
    return tuple(int(x) for x in text.split(",") if x.strip())


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m bench.grid", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dataset", default="bench-grid-ml100k", help="dataset name to (re)build and search on")
    p.add_argument("--reuse", action="store_true",
                   help="use --dataset as it is (already ingested and embedded)")
    p.add_argument("--knn-k", default=",".join(map(str, DEFAULT_GRID["knn_k"])))
    p.add_argument("--knn-jac", default=",".join(map(str, DEFAULT_GRID["knn_jac"])))
    p.add_argument("--pure", default=",".join(map(str, DEFAULT_GRID["pure"])))
    p.add_argument("--seeds", default="2025", help="training seeds, comma-separated")
    p.add_argument("--split-seed", type=int, default=2025, help="seed of the train/valid/test split")
    p.add_argument("--history-scope", choices=("train", "all"), default="train",
                   help="user texts from training interactions (honest) or all splits (the "
                        "published protocol's leak, for comparison only)")
    p.add_argument("--max-epochs", type=int, default=1000)
    p.add_argument("--patience", type=int, default=20)
    p.add_argument("--out", type=Path, help="also write the rows as JSON here")
    args = p.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s", datefmt="%H:%M:%S")
    logging.getLogger("neo4j").setLevel(logging.ERROR)
    grid = points({"knn_k": _ints(args.knn_k), "knn_jac": _ints(args.knn_jac), "pure": _floats(args.pure)})
    with neo4j_for_bench() as neo4j:
        settings = Settings(dataset=args.dataset, neo4j=neo4j).with_overrides({
            "ingest.seed": args.split_seed, "train.epochs": args.max_epochs,
            "train.patience": args.patience, "train.device": "cpu", "train.threads": 1,
            "enrich.device": "cpu", "enrich.no_llm": True, "enrich.history_scope": args.history_scope,
            "train.runs_dir": tempfile.mkdtemp(prefix="mllmrec-bench-runs-")})
        with connect(neo4j) as graph:
            if not args.reuse:
                from bench.train import prepare

                prepare(graph, settings)  # builds the graph with the default settings
                current = built(settings)
            else:
                prepare_users(graph, settings)
                current = None
            rows, _ = run_grid(graph, settings, grid, _ints(args.seeds), current)
    print(table(rows))
    chosen = choices(rows)
    for split, name in (("valid", "chosen on validation (this project)"),
                        ("test", "the test split would choose (published grid script)")):
        c = chosen[split]
        print(f"{name}: {c['config']}  test recall@20 {c['test']['recall@20']:.4f}, "
              f"ndcg@20 {c['test']['ndcg@20']:.4f}")
    if args.out:
        args.out.write_text(json.dumps({"environment": environment(), "history_scope": args.history_scope,
                                        "rows": rows, "chosen": chosen}, indent=1, default=str))


if __name__ == "__main__":
    main()
