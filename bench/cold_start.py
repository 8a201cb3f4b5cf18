"""Section ``cold-start``: items and users no training run has seen, recommended from their text.

For each dataset of ``--cold-datasets``, each protocol (``cold-items``: ``ingest.cold_items =
0.2``, a seeded fifth of the items held out entirely; ``cold-users``: ``ingest.cold_users =
0.2``, a fifth of the users held out, their text from ``ingest.cold_given`` given interactions)
and each seed of ``--seeds`` (the seed draws the held-out entities AND seeds training, so the
spread covers both), the dataset is rebuilt by the real stages (ingest with the cold split,
describe, profile, embed, build-graph) and measured in the trainer's harness:

- MLLMRec and the hybrid, each with both negative pools (``train.negatives`` ``all`` and
  ``interacted``; the pool shown as chosen is the one with the better mean validation
  Recall@20 over the seeds both pools were measured on, never test), LightGCN and BPR-MF
  (``all``), all to early stopping;
- the reference methods without learning: text-kNN (max and mean cosine to the user's known
  items), popularity (training counts) and random.

Metrics per group of test targets (:func:`mllmrec.train.metrics.cold_groups`): warm targets,
cold items ranked among all items, cold items ranked among the cold items only, cold users;
Recall/NDCG@10/20, mean ± sample std over seeds. ID models know nothing of a cold item or user:
its embedding is its random initialisation (moved only as a sampled negative under ``all``),
so their cold numbers measure random scoring. A Wilcoxon signed-rank test pairs MLLMRec and the
hybrid (chosen pools) with text-kNN (max), and on cold users also with popularity, on each
(seed, user)'s cold-target Recall@20. Each table keeps its seeds' raw results, so the report
recomputes the table from them (:func:`table`) and joins seeds of other runs (:func:`merge`).
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch

from bench.common import enrichment_note, split_fingerprint
from bench.context import Context
from bench.options import COLD_DATASETS, COLD_RUNS
from bench.stages import run_stages
from mllmrec.config import Settings
from mllmrec.db import Store
from mllmrec.train.data import TEST, TrainData, load_train_data
from mllmrec.train.metrics import Scorer, cold_groups, dot_scorer, per_user, split_metrics
from mllmrec.train.reference import reference_scorer

log = logging.getLogger(__name__)

FRACTION = 0.2
#: protocol (bench.options.COLD_PROTOCOLS) -> the ingest setting it sets to FRACTION
PROTOCOLS = {"cold-items": "ingest.cold_items", "cold-users": "ingest.cold_users"}
#: what two runs must share for the report to join their tables into one section
SAME_CONDITIONS = ("fraction", "cold_given", "note")
#: and what two tables must share for the report to join their seeds and methods
TRAINING_CONDITIONS = ("max_epochs", "patience", "eval_every")
#: the group of test targets each protocol is about, and the one the paired test uses
COLD_GROUPS = {"cold-items": ("cold_items", "cold_among_cold"), "cold-users": ("cold_users",)}
PAIRED_GROUP = {"cold-items": "cold_among_cold", "cold-users": "cold_users"}
#: trained models' labels (their runs: bench.options.COLD_RUNS, model:negative pool)
TRAINED = {"mllmrec": "MLLMRec", "hybrid": "Hybrid", "lightgcn": "LightGCN", "bpr": "BPR-MF"}
REFERENCES = {"text-knn-max": "text-kNN (max)", "text-knn-mean": "text-kNN (mean)",
              "popularity": "popularity", "random": "random"}
#: the reference each protocol's text models are paired with: text-kNN (max) as the issue
#: asks; on cold users also popularity, the strongest reference there
PAIRED_AGAINST = {"cold-items": ("text-kNN (max)",), "cold-users": ("text-kNN (max)", "popularity")}
KS = [10, 20]


def section(ctx: Context) -> None:
    """Every dataset, protocol and seed (see the module docstring), saved after every method."""
    o = ctx.options
    log.info("== cold-start (datasets %s, protocols %s, seeds %s)", ",".join(o.cold_datasets),
             ",".join(o.cold_protocols), ",".join(map(str, o.seeds)))
    ts = ctx.settings.train
    conditions = {"seeds": list(o.seeds), "max_epochs": ts.epochs, "patience": ts.patience,
                  "eval_every": ts.eval_every, "runs": list(o.cold_runs)}
    result: dict[str, Any] = {"fraction": FRACTION, "cold_given": ctx.settings.ingest.cold_given,
                              "note": enrichment_note(ctx.settings), "datasets": {}}
    for source in o.cold_datasets:
        for protocol in o.cold_protocols:
            seeds: list[dict[str, Any]] = []
            for seed in o.seeds:
                settings = seed_settings(ctx.settings, source, protocol, seed)
                log.info("cold-start: %s, %s, seed %d", source, protocol, seed)
                run_stages(ctx.store, settings, source, train_model=False)
                seeds.append({"seed": seed, "methods": {}})

                def save(_: Any = None, seeds: list[dict[str, Any]] = seeds,
                         source: str = source, protocol: str = protocol) -> None:
                    result["datasets"].setdefault(source, {})[protocol] = summarise(
                        protocol, seeds, conditions)
                    ctx.save("cold-start", result)

                measure_seed(ctx.store, settings, protocol, seeds[-1], on_method=save,
                             runs=o.cold_runs)
                save()


def seed_settings(settings: Settings, source: str, protocol: str, seed: int) -> Settings:
    """The settings of one (dataset, protocol, seed): the cold split drawn and training seeded
    with ``seed``, on a bench dataset of its own."""
    return settings.with_overrides({"dataset": f"bench-cold-{source}", PROTOCOLS[protocol]: FRACTION,
                                    "ingest.seed": seed, "train.seed": seed})


def measure_seed(store: Store, settings: Settings, protocol: str, out: dict[str, Any],
                 on_method: Callable[[Any], None] | None = None,
                 runs: Sequence[str] = COLD_RUNS) -> dict[str, Any]:
    """Score every reference method, then train every ``model:pool`` of ``runs`` in order, on
    the prepared cold-start dataset ``settings.dataset``; fills ``out`` (the split's counts and
    fingerprint; ``methods``: label -> metrics per split and group, and each test user's
    Recall@20 on the paired group) and returns it. ``on_method`` runs after each method, so
    an interrupted seed keeps what it measured."""
    from mllmrec.train import writeback
    from mllmrec.train.job import train_model

    start = time.perf_counter()
    data = load_train_data(store, settings.dataset, features=True, item_graph=False,
                           user_features=False)
    log.info("cold-start: split pulled in %.0f s", time.perf_counter() - start)
    out["counts"] = dict(data.counts)
    out["split"] = split_fingerprint(data)
    methods: dict[str, Any] = out.setdefault("methods", {})
    for name, label in REFERENCES.items():
        start = time.perf_counter()
        scorer = reference_scorer(name, data, settings.train.seed)
        methods[label] = {"method": label, "negatives": None,
                          "metrics": _plain(split_metrics(scorer, torch.device("cpu"), data, KS,
                                                          settings.train.eval_batch_size)),
                          "per_user": _paired_values(scorer, data, protocol, settings)}
        log.info("cold-start: %s scored in %.0f s", label, time.perf_counter() - start)
    if on_method:
        on_method(None)
    for (model, pool), label in zip((r.split(":") for r in runs), run_labels(runs)):
        run = train_model(store, settings.with_overrides(
            {"train.model": model, "train.negatives": pool}), progress=False)
        assert run is not None  # one process: rank 0
        users, items = writeback.stored_vectors(store, settings.dataset, run.run_id,
                                                data.user_ids, data.item_ids)
        scorer = dot_scorer(torch.from_numpy(users), torch.from_numpy(items))
        methods[label] = {
            "method": TRAINED[model], "negatives": pool, "run_id": run.run_id, "epochs": run.epochs,
            "best_epoch": run.best_epoch, "metrics": _plain(run.metrics),
            "per_user": _paired_values(scorer, data, protocol, settings)}
        if on_method:
            on_method(None)
    return out


def _plain(metrics: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
    return {split: {k: float(v) for k, v in values.items()} for split, values in metrics.items()}


def _paired_values(scorer: Scorer, data: TrainData, protocol: str, settings: Settings) -> list[float]:
    """Each test user's Recall@20 on the protocol's paired group (users in index order)."""
    truth, candidates = cold_groups(data, TEST)[PAIRED_GROUP[protocol]]
    _, values = per_user(scorer, torch.device("cpu"), data.known, truth, [20],
                         settings.train.eval_batch_size, candidates)
    return [round(float(v), 6) for v in values["recall@20"]]


def summarise(protocol: str, seeds: list[dict[str, Any]],
              conditions: dict[str, Any] | None = None) -> dict[str, Any]:
    """The protocol's table over the seeds measured so far: per method the mean and sample
    std of every metric of every split and group, the chosen negative pool of the text models
    (better mean validation Recall@20), and the paired tests against :data:`PAIRED_AGAINST`. The
    measured seeds themselves (``per_seed``) and the training ``conditions`` stay in the
    table, so runs of other seeds can be joined to it (:func:`merge`)."""
    labels = sorted(dict.fromkeys(k for s in seeds for k in s["methods"]), key=_row_order)
    rows = []
    for label in labels:
        runs = [s["methods"][label] for s in seeds if label in s["methods"]]
        keys = {(split, m) for r in runs for split, v in r["metrics"].items() for m in v
                if m != "users"}
        mean: dict[str, dict[str, float]] = {}
        std: dict[str, dict[str, float]] = {}
        for split, m in sorted(keys):
            values = np.array([r["metrics"][split][m] for r in runs if m in r["metrics"].get(split, {})])
            mean.setdefault(split, {})[m] = float(values.mean())
            std.setdefault(split, {})[m] = float(values.std(ddof=1)) if len(values) > 1 else 0.0
        rows.append({"label": label, "method": runs[0]["method"], "negatives": runs[0]["negatives"],
                     "seeds": [s["seed"] for s in seeds if label in s["methods"]],
                     "mean": mean, "std": std,
                     "epochs": [r.get("epochs") for r in runs],
                     "best_epoch": [r.get("best_epoch") for r in runs]})
    for method in {r["method"] for r in rows if r["negatives"]}:
        own = [r for r in rows if r["method"] == method]
        common = sorted(set.intersection(*(set(r["seeds"]) for r in own)))
        best = max(own, key=lambda r: _valid_on(seeds, r["label"], common)) if common else None
        for r in own:  # one pool (or no common seed): no choice to mark, but rows stay shown
            r["chosen"] = r is best if len(own) > 1 and best is not None else None
            if r["chosen"] is not None and common != r["seeds"]:
                r["chosen_on"] = common
    tests = [paired(seeds, a["label"], b, PAIRED_GROUP[protocol])
             for b in PAIRED_AGAINST[protocol]
             for a in rows if a.get("chosen") is not False and a["method"] in ("MLLMRec", "Hybrid")
             and any(b in s["methods"] for s in seeds)]
    return {"groups": list(COLD_GROUPS[protocol]), "paired_group": PAIRED_GROUP[protocol],
            "methods": rows, "paired_tests": [t for t in tests if t],
            "counts": [{"seed": s["seed"], **s.get("counts", {})} for s in seeds],
            "conditions": dict(conditions or {}), "per_seed": seeds}


def _valid_on(seeds: list[dict[str, Any]], label: str, common: list[int]) -> float:
    """``label``'s mean validation Recall@20 over the seeds ``common`` to every pool of its
    method: pools measured on different seeds are compared on the same ones."""
    return float(np.mean([s["methods"][label]["metrics"].get("valid", {}).get("recall@20", -1.0)
                          for s in seeds if s["seed"] in common]))


def table(protocol: str, t: dict[str, Any], section: dict[str, Any]) -> dict[str, Any]:
    """A stored table as the current :func:`summarise` computes it from its kept seeds (a
    run file older than kept seeds: as stored)."""
    return summarise(protocol, t["per_seed"], conditions(t, section)) if t.get("per_seed") else t


def run_labels(runs: Sequence[str]) -> list[str]:
    """The table labels of trained runs named ``model:pool`` (``MLLMRec (interacted)``)."""
    return [f"{TRAINED[model]} ({pool})" for model, pool in (r.split(":") for r in runs)]


def _row_order(label: str) -> tuple[int, str]:
    """Trained models first (MLLMRec, hybrid, LightGCN, BPR-MF; pools by name), then the
    references, as :data:`TRAINED` and :data:`REFERENCES` list them: run files store their
    keys sorted."""
    order = [*TRAINED.values(), *REFERENCES.values()]
    base = label.split(" (")[0] if label not in order else label
    return (order.index(base) if base in order else len(order), label)


def conditions(t: dict[str, Any], section: dict[str, Any]) -> dict[str, Any]:
    """A table's training conditions; a run file older than per-table conditions kept them
    for the whole section (and validated every epoch)."""
    if t.get("conditions"):
        return dict(t["conditions"])
    return {"seeds": section.get("seeds"), "max_epochs": section.get("max_epochs"),
            "patience": section.get("patience"), "eval_every": 1, "runs": section.get("runs")}


def merge(section: dict[str, Any], other: dict[str, Any]) -> dict[str, Any] | None:
    """``section`` completed from ``other``, another run measured under the same conditions
    (held-out fraction, given interactions, enrichment): the (dataset, protocol) tables it
    lacks, whole; and in a table both have, the seeds it lacks and, of a seed both measured on
    the same split (:func:`split_fingerprint`), the methods it lacks, when both trained with
    the same epochs, patience and validation interval. None when ``other`` adds nothing."""
    if not all(section.get(k) == other.get(k) for k in SAME_CONDITIONS):
        return None
    datasets = {source: {q: {**t, "conditions": conditions(t, section)} for q, t in tables.items()}
                for source, tables in section.get("datasets", {}).items()}
    changed = False
    for source, tables in other.get("datasets", {}).items():
        for protocol, theirs in tables.items():
            ours = datasets.get(source, {}).get(protocol)
            if ours is None:
                datasets.setdefault(source, {})[protocol] = {**theirs, "conditions": conditions(theirs, other)}
                changed = True
                continue
            seeds = _joined_seeds(ours, theirs, conditions(theirs, other))
            if seeds is not None:  # the report summarises the joined seeds (:func:`table`)
                datasets[source][protocol] = {**ours, "per_seed": seeds}
                changed = True
    if not changed:
        return None
    order = [*(d for d in COLD_DATASETS if d in datasets), *sorted(set(datasets) - set(COLD_DATASETS))]
    ordered = {source: {q: datasets[source][q] for q in PROTOCOLS if q in datasets[source]}
               for source in order}
    return {**section, "datasets": ordered}


def _joined_seeds(ours: dict[str, Any], theirs: dict[str, Any],
                  their_conditions: dict[str, Any]) -> list[dict[str, Any]] | None:
    """Our measured seeds completed with ``theirs`` (see :func:`merge`), or None."""
    if not (ours.get("per_seed") and theirs.get("per_seed")) or any(
            ours["conditions"].get(k) != their_conditions.get(k) for k in TRAINING_CONDITIONS):
        return None
    seeds = {s["seed"]: {**s, "methods": dict(s["methods"])} for s in ours["per_seed"]}
    added = False
    for s in theirs["per_seed"]:
        mine = seeds.get(s["seed"])
        if mine is None:
            seeds[s["seed"]], added = s, True
        elif mine.get("split") and mine.get("split") == s.get("split"):
            new = {k: v for k, v in s["methods"].items() if k not in mine["methods"]}
            mine["methods"].update(new)
            added = added or bool(new)
    return [seeds[k] for k in sorted(seeds)] if added else None


def joined(section: dict[str, Any]) -> list[str]:
    """What a run's section measured, as the provenance names it: dataset, protocol, seeds."""
    return [f"{source} {protocol} (seeds {', '.join(str(c['seed']) for c in t.get('counts', []))})"
            for source, tables in section.get("datasets", {}).items() for protocol, t in tables.items()]


def paired(seeds: list[dict[str, Any]], a: str, b: str, group: str) -> dict[str, Any] | None:
    """Wilcoxon signed-rank test (two-sided, zero differences dropped) of ``a`` against ``b``
    over every (seed, test user) of ``group``: each user's Recall@20, both methods on the same
    split."""
    from scipy.stats import wilcoxon

    x: list[float] = []
    y: list[float] = []
    for s in seeds:
        if a in s["methods"] and b in s["methods"]:
            x += s["methods"][a]["per_user"]
            y += s["methods"][b]["per_user"]
    if not x or len(x) != len(y):
        return None
    diff = np.asarray(x) - np.asarray(y)
    nonzero = int(np.count_nonzero(diff))
    res = wilcoxon(x, y, zero_method="wilcox", alternative="two-sided") if nonzero else None
    return {"a": a, "b": b, "group": group, "pairs": len(x), "nonzero_pairs": nonzero,
            "mean_difference": float(diff.mean()), "a_better": int((diff > 0).sum()),
            "b_better": int((diff < 0).sum()),
            "statistic": float(res.statistic) if res else None,
            "p_value": float(res.pvalue) if res else 1.0}
