"""MLLMRec (text-only features, --no-llm), LightGCN and BPR-MF side by side on the same
MovieLens 100K split, same sampler, protocol and metrics (METHOD.md section 7).

For each model: test Recall/NDCG@10/20 at the best validation epoch (early stopping on
validation Recall@20, patience 20; test is never used to choose anything), seconds per
training epoch, evaluation seconds per epoch, and peak resident memory of the training call.

MLLMRec's features come from the real stages: ``describe-items``/``profile-users`` with
--no-llm (item text = metadata, user text = behavioural list of TRAINING items), ``embed``
(all-MiniLM-L6-v2) and ``build-graph`` (default knn_k/knn_jac/pure).

Run: ``python -m bench.train [--max-epochs 300] [--patience 20] [--dataset NAME --reuse]
[--models mllmrec lightgcn bpr] [--out bench-train.json]``. Uses the server NEO4J_URI names, else starts a temporary one.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import tempfile
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("DGLBACKEND", "pytorch")

from bench.common import environment, neo4j_for_bench  # noqa: E402
from bench.train_runs import MODEL_NAMES, train  # noqa: E402
from mllmrec.config import Settings  # noqa: E402
from mllmrec.db import Graph, connect  # noqa: E402

log = logging.getLogger("bench.train")

MODELS = ("mllmrec", "lightgcn", "bpr")
COLUMNS = ("recall@10", "recall@20", "ndcg@10", "ndcg@20")


def prepare(graph: Graph, settings: Settings, features: bool = True) -> None:
    """ML-100K as ``settings.dataset`` (replaced) and, with ``features``, enriched --no-llm,
    embedded and its item-item graph built (the baselines need only the interactions; the
    seeded split is the same either way)."""
    from bench.loading import ingest
    from bench.stages import load_dataset
    from mllmrec.dataset import drop_dataset
    from mllmrec.enrich.describe import describe_items
    from mllmrec.enrich.embed import embed_texts
    from mllmrec.enrich.profile import profile_users
    from mllmrec.graph.build import build_graph

    drop_dataset(graph, settings.dataset)
    ingest(graph, settings, load_dataset("ml-100k"), {"format": "movielens"})
    for stage in (describe_items, profile_users, embed_texts, build_graph) if features else ():
        log.info("stage %s", stage.__name__)
        stage(graph, settings)


def run(graph: Graph, settings: Settings, reuse: bool = False,
        models: tuple[str, ...] = MODELS) -> list[dict[str, Any]]:
    """Train ``models`` on ``settings.dataset`` (prepared first unless ``reuse``); one row
    per model. Also the entry point of ``python -m bench`` components."""
    settings = settings.with_overrides({"enrich.no_llm": True})
    if not reuse:
        prepare(graph, settings, features="mllmrec" in models)
    rows = []
    for model in models:
        log.info("training %s", model)
        r = train(graph, settings.with_overrides({"train.model": model}))
        rows.append({"name": f"train ML-100K: {MODEL_NAMES[model]}", "model": MODEL_NAMES[model],
                     **{f"test_{k}": r["test"][k] for k in COLUMNS},
                     "valid_recall@20": r["valid"]["recall@20"], "best_epoch": r["best_epoch"],
                     "epochs": r["epochs"], "seconds_per_epoch": r["seconds_per_epoch"],
                     "eval_seconds_per_epoch": r["eval_seconds_per_epoch"],
                     "seconds": r["seconds"], "peak_rss_mb": r["peak_rss_mb"], "run_id": r["run_id"]})
    return rows


def table(rows: list[dict[str, Any]]) -> str:
    head = (f"{'model':<9}" + "".join(f"{'test ' + c:>16}" for c in COLUMNS)
            + f"{'valid R@20':>11}{'best/ep':>9}{'s/epoch':>9}{'eval s':>8}{'peak MB':>9}")
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(f"{r['model']:<9}" + "".join(f"{r['test_' + c]:>16.4f}" for c in COLUMNS)
                     + f"{r['valid_recall@20']:>11.4f}{str(r['best_epoch']) + '/' + str(r['epochs']):>9}"
                     f"{r['seconds_per_epoch']:>9.2f}{r['eval_seconds_per_epoch']:>8.2f}"
                     f"{r['peak_rss_mb'] or float('nan'):>9.0f}")
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--dataset", default="bench-train-ml100k", help="dataset name to (re)build and train on")
    p.add_argument("--reuse", action="store_true", help="train on --dataset as it is (already prepared)")
    p.add_argument("--max-epochs", type=int, default=300)
    p.add_argument("--patience", type=int, default=20)
    p.add_argument("--seed", type=int, default=2025)
    p.add_argument("--models", nargs="+", choices=MODELS, default=list(MODELS))
    p.add_argument("--out", type=Path, help="also write the rows as JSON here")
    args = p.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s", datefmt="%H:%M:%S")
    logging.getLogger("neo4j").setLevel(logging.ERROR)
    with neo4j_for_bench() as neo4j:
        settings = Settings(dataset=args.dataset, neo4j=neo4j).with_overrides({
            "train.epochs": args.max_epochs, "train.patience": args.patience, "train.seed": args.seed,
            "train.device": "cpu", "enrich.device": "cpu",
            "train.runs_dir": tempfile.mkdtemp(prefix="mllmrec-bench-runs-")})
        with connect(neo4j) as graph:
            rows = run(graph, settings, reuse=args.reuse, models=tuple(args.models))
    print(table(rows))
    if args.out:
        args.out.write_text(json.dumps({"environment": environment(), "rows": rows}, indent=1, default=str))


if __name__ == "__main__":
    main()
