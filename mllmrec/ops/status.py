"""``mllmrec status``: per dataset, what is in the database, when each stage last ran (with
what parameters and outcome), which training run serves and its metrics, the last tuning
study, and whether a retrain holds the dataset's lock."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from rich.console import Console
from rich.table import Table

from mllmrec.dataset import DatasetStats, dataset_stats
from mllmrec.db import Store
from mllmrec.ingest import stored_cold_protocol
from mllmrec.ops.lock import lock_info
from mllmrec.train.writeback import serving_run


@dataclass
class DatasetStatus:
    stats: DatasetStats
    stages: list[dict[str, Any]]
    serving: dict[str, Any] | None
    runs: int
    lock: dict[str, Any] | None
    extra_counts: dict[str, int] = field(default_factory=dict)
    interrupted: list[dict[str, Any]] = field(default_factory=list)
    study: dict[str, Any] | None = None  # the last (:TuningStudy), with its linked runs
    cold: dict[str, Any] | None = None  # the cold-start protocol of the split, if any
    inductive: dict[str, int] = field(default_factory=dict)  # served from text since training


def decode(value: Any) -> Any:
    """Stage and run properties may be stored as JSON text (maps of maps cannot be node
    properties); decode those for display, pass anything else through."""
    if isinstance(value, str) and value[:1] in "{[":
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def run_metrics(props: dict[str, Any] | None) -> dict[str, float]:
    """Flat ``split/metric -> value`` from a TrainingRun's ``metrics`` property (JSON text or
    map, ``{"valid": {"recall@20": ...}, "test": {...}}``)."""
    metrics = decode((props or {}).get("metrics"))
    if not isinstance(metrics, dict):
        return {}
    out: dict[str, float] = {}
    for split, values in metrics.items():
        values = decode(values)
        if isinstance(values, dict):
            out.update({f"{split}/{k}": float(v) for k, v in values.items()
                        if isinstance(v, (int, float))})
    return out


def valid_recall20(props: dict[str, Any] | None) -> float | None:
    """Validation Recall@20 of a run, if recorded."""
    return run_metrics(props).get("valid/recall@20")


LEAKY = "users_with_all_splits_text"  # count of users profiled with --history-scope all


def dataset_status(store: Store, dataset: str) -> DatasetStatus:
    stats = dataset_stats(store, dataset)
    stages = store.run("ops/stage_history", dataset=dataset)
    serving = serving_run(store, dataset, required=False)
    runs = store.run("ops/training_runs", dataset=dataset)
    extra = store.run("ops/enrich_counts", dataset=dataset)[0]
    extra[LEAKY] = store.run("ops/leaky_preferences", dataset=dataset)[0]["users"]
    study = store.run("tune/last_study", dataset=dataset)
    return DatasetStatus(stats, stages,
                         {"id": serving["run"], "props": serving["props"]} if serving["run"] else None,
                         len(runs), lock_info(store, dataset), extra,
                         store.run("ops/interrupted_runs", dataset=dataset),
                         {**study[0]["props"], "linked_runs": study[0]["linked_runs"]} if study else None,
                         stored_cold_protocol(store, dataset),
                         inductive_counts(store, dataset))


def study_line(study: dict[str, Any]) -> str:
    """The last tuning study in one line: trials per state, best trial, winner on test."""
    out = (f"tuning study '{study.get('name')}' (updated {str(study.get('updated_at', ''))[:19]}): "
           f"{study.get('complete', 0)} complete, {study.get('pruned', 0)} pruned, "
           f"{study.get('failed', 0)} failed of {study.get('n_trials')}")
    if study.get("best_trial") is not None:
        out += (f"; best #{study['best_trial']} valid R@20 {study['best_value']:.4f} "
                f"({_short(study.get('best_params'), 80)})")
    if study.get("winner_test_recall_20") is not None:
        out += f"; winner test R@20 {study['winner_test_recall_20']:.4f}"
    return out


def inductive_counts(store: Store, dataset: str) -> dict[str, int]:
    """Items and users served from text by ``refresh`` since the serving run was trained, and
    the existing items whose semantic row gained a new item in those refreshes (they keep
    their trained vectors until the next training)."""
    rows = store.run("ops/inductive_counts", dataset=dataset)
    if not rows:
        return {}
    touched = sum(int((decode(c) or {}).get("touched_items", 0)) for c in rows[0]["refreshes"])
    return {"items": rows[0]["items"], "users": rows[0]["users"], "touched_items": touched}


def datasets(store: Store) -> list[str]:
    return [r["name"] for r in store.run("ops/datasets")]


def _short(value: Any, width: int = 60) -> str:
    value = decode(value)
    if isinstance(value, dict):
        value = ", ".join(f"{k}={v}" for k, v in value.items())
    text = "" if value is None else str(value)
    return text if len(text) <= width else text[: width - 1] + "…"


def render(status: DatasetStatus, console: Console) -> None:
    st = status.stats
    console.rule(f"[bold]{st.dataset}[/] ({st.domain}, {st.status})")
    counts = Table(title="contents", show_header=False)
    counts.add_column("what")
    counts.add_column("n", justify="right")
    for line in st.lines()[1:]:
        name, _, value = line.strip().partition(" ")
        counts.add_row(name, value.strip())
    for key, number in status.extra_counts.items():
        counts.add_row(key.replace("_", " "), f"{number:,}")
    console.print(counts)
    if status.extra_counts.get(LEAKY):
        console.print(f"[red]{status.extra_counts[LEAKY]:,} user texts were built from ALL splits "
                      "(profile-users --history-scope all): validation and test items leak into "
                      "the features; metrics of this dataset are not honest[/]")

    if status.cold:
        c = status.cold
        console.print(f"[yellow]COLD-START split: {c['cold_items']:g} of the items and "
                      f"{c['cold_users']:g} of the users held out (seed {c['cold_seed']}, cold users' "
                      f"texts from {c['cold_given']} given interactions); metrics are reported "
                      "per group (warm, cold items among all / among cold, cold users)[/]")

    stages = Table(title="stages (newest run of each)")
    for col in ("stage", "outcome", "started", "seconds", "parameters", "counts / error"):
        stages.add_column(col)
    for s in status.stages:
        outcome = {"ok": "[green]ok[/]", "failed": "[red]failed[/]",
                   "interrupted": "[yellow]interrupted[/]"}.get(s["status"], s["status"])
        if s["status"] != "ok" and s["last_ok_at"]:
            outcome += f" (last ok {s['last_ok_at'][:19]})"
        stages.add_row(s["stage"], outcome, (s["started_at"] or "")[:16].replace("T", " "),
                       f"{s['seconds']}" if s["seconds"] is not None else "",
                       _short(s["params"]), _short(s["error"] or s["counts"]))
    console.print(stages)

    if status.serving:
        metrics = run_metrics(status.serving["props"])
        table = Table(title=f"serving run {status.serving['id']} ({status.runs} runs kept)")
        table.add_column("metric")
        table.add_column("value", justify="right")
        for key in sorted(metrics):
            table.add_row(key, f"{metrics[key]:.4f}")
        console.print(table)
        ind = status.inductive
        if ind.get("items") or ind.get("users"):
            console.print(f"served from text since the last training (refresh): {ind['items']:,} "
                          f"new items, {ind['users']:,} new users; {ind['touched_items']:,} existing "
                          "items gained a new neighbour and keep their trained vectors",
                          highlight=False)
    else:
        console.print(f"serving run: none yet ({status.runs} training runs)")

    if status.study:
        console.print(study_line(status.study), highlight=False)
    for run in status.interrupted[:5]:
        console.print(f"[yellow]interrupted[/] {run['kind']} {run['what']} {run['id']} started "
                      f"{(run['started_at'] or '')[:19]}: {run['error']}", highlight=False)
    if len(status.interrupted) > 5:
        console.print(f"... and {len(status.interrupted) - 5} more interrupted runs")
    lock = status.lock
    if lock and lock["gone"]:
        console.print(f"no {lock['purpose']} running: a stale lock by {lock['owner']} whose process "
                      "is gone (killed); the next run takes it over")
    elif lock and lock["live"]:
        console.print(f"[yellow]a {lock['purpose']} is running[/]: owner {lock['owner']} since "
                      f"{lock['acquired_at'][:19]}, lock expires {lock['expires_at'][:19]}")
    elif lock:
        console.print(f"no retrain running (a stale lock by {lock['owner']} expired "
                      f"{lock['expires_at'][:19]}; the next retrain takes it over)")
    else:
        console.print("no retrain running")
