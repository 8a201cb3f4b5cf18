"""Turn one benchmark run (a plain dict) into the files a reader trusts:

- ``bench/results/<timestamp>.json``: everything measured, with machine, versions, commit and
  parameters, so any number can be traced back;
- ``bench/results/REPORT.md`` with tables and PNG plots (matplotlib, Agg backend): stage
  times and throughput, training curves, the protocol comparison (leaky vs honest user texts
  and model selection), the quality table (mean +- std over seeds, paired test) beside the
  published numbers, the scaling plot with fitted slopes, the ablation table;
- the generated block between ``<!-- bench:begin -->`` and ``<!-- bench:end -->`` in
  ``README.md`` and ``docs/benchmarks.md``: numbers are copied from the run, never typed.

A run made with ``--only`` lacks some sections; :func:`fill_missing` takes each missing
section from the newest earlier JSON that has it and the report names that file.
"""
from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

SECTIONS = ("stages", "components", "protocol", "quality", "scaling", "ablation", "scale")
BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"
SUB = "↳"  # marks a stage row that details part of the row above it
METRIC_COLUMNS = ("recall@10", "ndcg@10", "recall@20", "ndcg@20")

# METHOD.md section 8: Recall@20 / NDCG@20 as published (Amazon 2014, 5-core). The MLLMRec
# row was produced with user features built from all splits, so it is an upper bound.
PUBLISHED: dict[str, dict[str, tuple[float, float]]] = {
    "LightGCN": {"Baby": (0.0754, 0.0328), "Sports": (0.0864, 0.0387), "Clothing": (0.0526, 0.0236)},
    "FREEDOM": {"Baby": (0.0992, 0.0424), "Sports": (0.1089, 0.0481), "Clothing": (0.0941, 0.0420)},
    "best baseline in the paper": {"Baby": (0.1096, 0.0482), "Sports": (0.1189, 0.0551),
                                   "Clothing": (0.1058, 0.0488)},
    "MLLMRec (as published)": {"Baby": (0.1814, 0.0846), "Sports": (0.1498, 0.0677),
                               "Clothing": (0.1323, 0.0580)},
}


def timestamp() -> str:
    return datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")


# --------------------------------------------------------------------------- JSON files


def write_json(run: dict[str, Any], results_dir: Path) -> Path:
    """Write the run as ``<results_dir>/<run['id']>.json`` and return the path."""
    results_dir.mkdir(parents=True, exist_ok=True)
    path = results_dir / f"{run['id']}.json"
    path.write_text(json.dumps(run, indent=1, sort_keys=True, default=_jsonable) + "\n")
    return path


def _jsonable(value: Any) -> Any:
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    if hasattr(value, "tolist"):
        return value.tolist()
    return str(value)


def previous_runs(results_dir: Path, exclude: str | None = None) -> list[tuple[Path, dict]]:
    """Earlier run files, newest first (file names are UTC timestamps)."""
    out = []
    for path in sorted(results_dir.glob("*.json"), reverse=True):
        if path.stem == exclude:
            continue
        try:
            out.append((path, json.loads(path.read_text())))
        except (OSError, json.JSONDecodeError):
            continue
    return out


def fill_missing(run: dict[str, Any], results_dir: Path) -> dict[str, Any]:
    """A copy of ``run`` where each section it lacks comes from the newest earlier run that
    has it; ``run['borrowed']`` maps section -> file name so the report can say so."""
    out = dict(run)
    borrowed: dict[str, str] = {}
    sources: dict[str, dict[str, Any]] = {}
    earlier = previous_runs(results_dir, exclude=run.get("id"))
    for section in SECTIONS:
        if out.get(section):
            continue
        for path, old in earlier:
            if old.get(section):
                out[section] = old[section]
                borrowed[section] = path.name
                sources[path.name] = {"command": old.get("command"), "created": old.get("created"),
                                      "environment": old["environment"]}
                break
    _complete_protocol(out, earlier, borrowed, sources)
    out["borrowed"] = borrowed
    out["borrowed_runs"] = sources
    return out


def _complete_protocol(out: dict[str, Any], earlier: list[tuple[Path, dict]],
                       borrowed: dict[str, str], sources: dict[str, dict[str, Any]]) -> None:
    """A protocol section lacking a user-text scope (each scope may run in its own process)
    takes it from the newest earlier run measured under the same conditions."""
    from bench.protocol import merge

    for path, old in earlier:
        if not (out.get("protocol") or {}).get("missing"):
            return
        if not old.get("protocol") or path.name == borrowed.get("protocol"):
            continue
        merged = merge(out["protocol"], old["protocol"])
        if merged is not None:
            added = [s for s in out["protocol"]["missing"] if s not in merged["missing"]]
            out["protocol"] = merged
            borrowed[f"protocol (user-text scope {', '.join(added)})"] = path.name
            sources[path.name] = {"command": old.get("command"), "created": old.get("created"),
                                  "environment": old["environment"]}


# --------------------------------------------------------------------------- formatting


def fmt(value: Any, digits: int = 4) -> str:
    """Numbers for tables: floats to ``digits`` decimals, big counts with separators."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if abs(value) >= 1000:
            return f"{value:,.0f}"
        if abs(value) >= 10:
            return f"{value:.1f}"
        return f"{value:.{digits}f}"
    return str(value)


def table(header: list[str], rows: list[list[Any]]) -> str:
    """A GitHub Markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(fmt(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def machine_line(env: dict[str, Any]) -> str:
    m, v, g = env["machine"], env["versions"], env["git"]
    dirty = " (with uncommitted changes)" if g.get("dirty") else ""
    load = (f" (shared; 1-min load average {m['load_average'][0]} at the start)"
            if m.get("load_average") else "")
    return (f"{m['cpu']}, {m['cores']} cores{load}, {m['ram_gb']} GB RAM, {m['os']}; "
            f"Python {v['python']}, torch {v['torch']}, DGL {v['dgl']}, "
            f"Neo4j {v['neo4j-server']} Community; commit {g['short']}{dirty}")


def _slope(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def _first(value: Any) -> Any:
    """A per-seed list's first value (the curve's seed), or a single run's value."""
    return value[0] if isinstance(value, list) else value


def pm(row: dict[str, Any], split: str, metric: str) -> str:
    """``mean ± std`` of a metric over seeds (just the value for a single-run row)."""
    value = row.get(split, {}).get(metric)
    std = row.get(f"{split}_std", {}).get(metric)
    if value is None:
        return "-"
    return f"{value:.4f} ± {std:.4f}" if std is not None and len(row.get("seeds", [])) > 1 \
        else f"{value:.4f}"


def _per_seed(value: Any) -> str:
    return "/".join(map(str, value)) if isinstance(value, list) else fmt(value)


def _conditions(q: dict[str, Any]) -> str:
    """How a quality/ablation/protocol table was produced, in one sentence."""
    seeds = q.get("seeds") or [q.get("seed")]
    scope = q.get("history_scope", "train")
    texts = ("user texts from training interactions only" if scope == "train" else
             f"LEAKY user texts (history scope '{scope}': validation and test items included)")
    runs = (f"{len(seeds)} training seeds ({', '.join(map(str, seeds))}) on one fixed split, "
            "mean ± sample std" if len(seeds) > 1 else f"one training run (seed {seeds[0]})")
    return (f"{runs}; early stopping on validation Recall@20 with patience "
            f"{q.get('patience')}, at most {q.get('max_epochs')} epochs; {texts}")


# --------------------------------------------------------------------------- plots


def plot_stage_times(stages: list[dict[str, Any]], path: Path) -> Path:
    """Bars of the top-level stages (rows starting with SUB are parts of the row above)."""
    stages = [s for s in stages if not s["stage"].startswith(SUB)]
    names = [f"{s['stage']} ({s['dataset']})" for s in stages]
    secs = [s["seconds"] for s in stages]
    fig, ax = plt.subplots(figsize=(7, 0.5 * len(stages) + 1.2))
    ax.barh(names[::-1], secs[::-1], color="#4c72b0")
    for y, value in enumerate(secs[::-1]):
        ax.text(value, y, f" {value:.1f}s", va="center", fontsize=8)
    ax.set_xlabel("wall-clock seconds")
    ax.set_title("Time per pipeline stage")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_curves(models: list[dict[str, Any]], path: Path, metric: str = "recall@20") -> Path:
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.6))
    for m in models:
        curve = m.get("curve") or []
        if not curve:
            continue
        epochs = [c["epoch"] for c in curve]
        ax1.plot(epochs, [c.get("loss") for c in curve], label=m["model"])
        ax2.plot(epochs, [c.get(f"valid_{metric}") for c in curve], label=m["model"])
        best = _first(m.get("best_epoch"))
        if best is not None:
            ax2.axvline(best, ls=":", lw=0.8, color=ax2.lines[-1].get_color())
    ax1.set_xlabel("epoch"), ax1.set_ylabel("BPR loss"), ax1.set_title("Training loss")
    ax2.set_xlabel("epoch"), ax2.set_ylabel(f"validation {metric}")
    ax2.set_title(f"Validation {metric}, first seed (dotted: best epoch)")
    ax1.legend(fontsize=8), ax2.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_scaling(scaling: dict[str, Any], path: Path) -> Path:
    rows = scaling["rows"]
    x = [r["interactions"] for r in rows]
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    for stage, slope in scaling["slopes"].items():
        y = [r[f"{stage}_seconds"] for r in rows]
        ax.loglog(x, y, "o-", label=f"{stage} (slope {_slope(slope)})")
    ax.set_xlabel("interactions")
    ax.set_ylabel("seconds")
    ax.set_title("Scaling on synthetic Sports-shaped data (log-log)")
    ax.grid(True, which="both", ls=":", lw=0.5)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


# --------------------------------------------------------------------------- Markdown


def _source_note(run: dict[str, Any], section: str) -> str:
    name = run.get("borrowed", {}).get(section)
    return f"\n_This section was not re-run; it comes from `{name}`._\n" if name else ""


def _stages_md(run: dict[str, Any], out_dir: Path) -> list[str]:
    stages = run.get("stages") or []
    if not stages:
        return []
    rows = [[s["stage"], s["dataset"], fmt(s["seconds"], 2), s.get("count"), s.get("unit"),
             fmt(s.get("throughput"), 1), fmt(s.get("peak_rss_mb"), 0)] for s in stages]
    plot_stage_times(stages, out_dir / "stage_times.png")
    return ["## Pipeline stages", _source_note(run, "stages"),
            table(["stage", "dataset", "seconds", "count", "unit", "per second",
                   "peak RSS MiB (Python)"], rows),
            "", "![stage times](stage_times.png)", ""]


def _components_md(run: dict[str, Any]) -> list[str]:
    comps = run.get("components") or []
    if not comps:
        return []
    rows = [[c.get("script", ""), c["name"],
             ", ".join(f"{k}={fmt(v) if isinstance(v, float) else v}" for k, v in c.items()
                       if k not in ("script", "name"))] for c in comps]
    return ["## Stage micro-benchmarks", _source_note(run, "components"),
            "The per-stage scripts of the other issues, run by `python -m bench` through their "
            "public functions; each compares against a reference computed in the same run.", "",
            table(["script", "benchmark", "numbers"], rows), ""]


def _capped(m: dict[str, Any], cap: int | None) -> str:
    """A mark for runs stopped by the epoch cap while validation was still improving (any
    seed)."""
    epochs, best = m.get("epochs"), m.get("best_epoch")
    pairs = zip(epochs, best) if isinstance(epochs, list) else [(epochs, best)]
    if cap and any(e == cap and (b or 0) > cap - 5 for e, b in pairs):
        return " (still improving at the epoch cap)"
    return ""


def _missing(section: dict[str, Any]) -> list[str]:
    gone = section.get("missing") or []
    return [f"**Not run** (the run was stopped before them): {', '.join(map(str, gone))}.", ""] \
        if gone else []


def _paired_text(t: dict[str, Any] | None) -> str:
    if not t:
        return ""
    return (f"Paired test, {t['metric']}, {t['a']} vs {t['b']} (the baseline with the best "
            f"mean validation Recall@20): {t['test']} over {t['users']:,} test users "
            f"({t['nonzero_pairs']:,} with a difference): mean difference "
            f"{t['mean_difference']:+.4f}, {t['a']} better for {t['a_better_users']:,} users, "
            f"{t['b']} for {t['b_better_users']:,}; W = {fmt(t['statistic'])}, "
            f"p = {t['p_value']:.2g}.")


def _quality_md(run: dict[str, Any], out_dir: Path) -> list[str]:
    q = run.get("quality")
    if not q:
        return []
    header = ["model", "valid recall@20", "valid ndcg@20", *[f"test {m}" for m in METRIC_COLUMNS],
              "best epoch (per seed)", "epochs (per seed)", "s/epoch", "peak RSS MiB"]
    rows = [[m["model"] + _capped(m, q.get("max_epochs")), pm(m, "valid", "recall@20"),
             pm(m, "valid", "ndcg@20"), *(pm(m, "test", k) for k in METRIC_COLUMNS),
             _per_seed(m.get("best_epoch")), _per_seed(m.get("epochs")),
             fmt(m.get("seconds_per_epoch"), 2), fmt(m.get("peak_rss_mb"), 0)] for m in q["models"]]
    pub = [[name, *(f"{r:.4f} / {n:.4f}" for r, n in vals.values())]
           for name, vals in PUBLISHED.items()]
    lines = ["## Recommendation quality", _source_note(run, "quality"),
             f"Dataset **{q['dataset']}**, split per METHOD.md section 1 (seed {q.get('seed')}); "
             "full ranking over all items with the user's training items masked; test metrics at "
             f"the best validation Recall@20 epoch. Conditions: {_conditions(q)}. "
             f"{q.get('note', '')}", "", *_missing(q), table(header, rows), ""]
    if q.get("paired_test"):
        lines += [_paired_text(q["paired_test"]), ""]
    if any(m.get("curve") for m in q["models"]):
        plot_curves(q["models"], out_dir / "training_curves.png")
        lines += ["![training curves](training_curves.png)", ""]
    lines += ["### Published numbers (METHOD.md section 8), Recall@20 / NDCG@20",
              "These are on the Amazon 2014 Baby / Sports / Clothing 5-core datasets, not on "
              "MovieLens 100K, so they are not directly comparable with the table above. The "
              "published MLLMRec numbers used user features built from all splits (validation "
              "and test included), so they are an upper bound, not a target.", "",
              table(["model", "Baby", "Sports", "Clothing"], pub), ""]
    return lines


def _scaling_md(run: dict[str, Any], out_dir: Path) -> list[str]:
    s = run.get("scaling")
    if not s or not s.get("rows"):
        return []
    stages = list(s["slopes"])
    failed = "".join(f" The run at {f['interactions']:,} interactions failed: {f['error']}."
                     for f in s.get("failures", []))
    rows = [[r["interactions"], r["users"], r["items"],
             *(fmt(r[f"{st}_seconds"], 2) for st in stages)] for r in s["rows"]]
    plot_scaling(s, out_dir / "scaling.png")
    slopes = ", ".join(f"{st} {_slope(v)}" for st, v in s["slopes"].items())
    return ["## Scaling", _source_note(run, "scaling"),
            "Synthetic catalogues shaped like Amazon Sports (users and items grow with "
            "interactions at Sports' ratios, Zipf-like popularity, topic structure, random unit "
            f"384-d embeddings; `bench/synthetic.py`, seed {s.get('seed')}). Fitted log-log slopes "
            f"(`numpy.polyfit` of log seconds on log interactions): {slopes}. A slope of 1 is "
            "linear growth. " + s.get("note", "") + failed, "",
            table(["interactions", "users", "items", *[f"{st} s" for st in stages]], rows),
            "", "![scaling](scaling.png)", ""]


def _edges_text(edges: dict[str, int] | None) -> str:
    return f"{edges['co_occurs']:,} / {edges['similar']:,}" if edges else "-"


# A variant identical to the full method shows the full method's numbers; runs recorded before
# bench/ablation.py copied them when the full method was trained in the same section left
# those rows empty.
_RESULT_KEYS = ("valid", "valid_std", "test", "test_std", "seeds", "best_epoch", "epochs")


def _ablation_md(run: dict[str, Any]) -> list[str]:
    a = run.get("ablation")
    if not a:
        return []
    full = a["rows"][0] if a["rows"] else {}
    shown = [{**r, **{k: full.get(k) for k in _RESULT_KEYS}}
             if r.get("same_as_full") and not r.get("test") else r for r in a["rows"]]
    rows = [[r["variant"], r["change"], _edges_text(r.get("graph_edges")),
             pm(r, "valid", "recall@20"), pm(r, "valid", "ndcg@20"),
             *(pm(r, "test", k) for k in METRIC_COLUMNS), _per_seed(r.get("best_epoch")),
             r.get("note", "")] for r in shown]
    header = ["variant", "change", "item-item edges (co-occurs / similar)", "valid recall@20",
              "valid ndcg@20", *[f"test {m}" for m in METRIC_COLUMNS], "best epoch (per seed)",
              "note"]
    better = a.get("better_on_validation")
    if better is None:  # a run from before the verdict was recorded
        from bench.ablation import better_on_validation

        better = better_on_validation(a["rows"])
    verdict = ("Variants that beat the full method on validation Recall@20 (mean over seeds; "
               "the test split plays no part in this): " + "; ".join(
                   f"**{b['variant']}** ({b['valid']:.4f} vs {b['full_valid']:.4f}; pick it "
                   f"with `{b['pick']}`)" for b in better) + "."
               if better else "No variant beats the full method on validation Recall@20.")
    seeds = a.get("seeds") or []
    return ["## Ablation", _source_note(run, "ablation"),
            f"Dataset **{a['dataset']}**; every variant is the real trainer with one setting "
            f"changed, same split, protocol and seeds ({', '.join(map(str, seeds)) or 'one'}; "
            "mean ± sample std). " + a.get("note", ""), "", *_missing(a),
            table(header, rows), "", verdict, ""]


def _protocol_md(run: dict[str, Any]) -> list[str]:
    p = run.get("protocol")
    if not p:
        return []
    rows = [[c["scope"], c["selection"], c["what"], _config(c["config"]),
             fmt(c["valid"]["recall@20"]), pm(c, "test", "recall@20"), pm(c, "test", "ndcg@20"),
             *(_inflation((c["inflation"] or {}).get(m)) for m in ("recall@20", "ndcg@20"))]
            for c in p["cells"]]
    header = ["user texts from", "selected on", "cell", "chosen knn_k / knn_jac / pure",
              "valid recall@20", "test recall@20", "test ndcg@20", "inflation recall@20",
              "inflation ndcg@20"]
    grid_rows = [[scope, _config(r["config"]), pm(r, "valid", "recall@20"),
                  pm(r, "test", "recall@20"), pm(r, "test", "ndcg@20"), _per_seed(r["epochs"])]
                 for scope, rows_ in p["grid"].items() for r in rows_]
    published = next((c for c in p["cells"] if (c["scope"], c["selection"]) == ("all", "test")), None)
    closing = (f"Measured inflation of the published protocol over ours: Recall@20 "
               f"{_inflation(published['inflation']['recall@20'])}, NDCG@20 "
               f"{_inflation(published['inflation']['ndcg@20'])}."
               if published and published["inflation"] else "")
    parts = [f"\n_The {k[len('protocol ('):-1]} rows come from `{v}`: the same split, seeds and "
             "code, run in a second process._\n"
             for k, v in run.get("borrowed", {}).items() if k.startswith("protocol (")]
    return ["## Protocol: the published evaluation beside ours", _source_note(run, "protocol"),
            *parts,
            f"Dataset **{p['dataset']}**. MLLMRec trained over the grid below "
            "(`python -m bench.grid` does the same for one scope) with user texts built from "
            "training interactions only (`profile-users`, the default) and from every split "
            "(`profile-users --history-scope all`, as the authors' script did), and the "
            "configuration chosen on validation Recall@20 (ours) or on test Recall@20 (the "
            f"authors' grid script). Conditions: {len(p['seeds'])} seed(s) "
            f"({', '.join(map(str, p['seeds']))}), mean ± sample std; early stopping patience "
            f"{p['patience']}, at most {p['max_epochs']} epochs. Inflation is each cell's mean "
            "test metric minus the honest cell's (first row), absolute (relative).", "",
            "No generative model runs on this machine (`--no-llm`): the user text is the "
            "deterministic fallback, the behavioural list of titles and genres, not an LLM "
            "paragraph. The leak still flows through that text into the user embeddings: with "
            "scope 'all' the list names the user's validation and test items. "
            if p.get("no_llm") else "", "", *_missing(p), *_missing_points(p),
            table(header, rows), "", closing, "",
            "Grid (mean ± std over seeds):", "",
            table(["user texts from", "knn_k / knn_jac / pure", "valid recall@20",
                   "test recall@20", "test ndcg@20", "epochs (per seed)"], grid_rows), ""]


def _missing_points(p: dict[str, Any]) -> list[str]:
    gone = {scope: pts for scope, pts in (p.get("missing_points") or {}).items() if pts}
    return [f"**Not run** (stopped before them): grid point(s) {', '.join(map(_config, pts))} "
            f"with user texts from '{scope}'; choices in that scope are over the finished "
            "points only." for scope, pts in gone.items()] + ([""] if gone else [])


def _config(c: dict[str, Any]) -> str:
    return f"{c['knn_k']} / {c['knn_jac']} / {c['pure']}"


def _inflation(x: dict[str, Any] | None) -> str:
    if x is None:
        return "-"
    rel = f" ({x['relative']:+.1%})" if x.get("relative") is not None else ""
    return f"{x['absolute']:+.4f}{rel}"


def _scale_md(run: dict[str, Any]) -> list[str]:
    s = run.get("scale")
    if not s:
        return []
    from bench.scale import table_rows

    c = s["counts"]
    return ["## Paper scale", _source_note(run, "scale"),
            f"`python -m bench --scale {s['profile']}`: synthetic Sports-shaped catalogue "
            f"({c.get('users', 0):,} users, {c.get('items', 0):,} items, "
            f"{c.get('interactions', 0):,} interactions, {c.get('train_interactions', 0):,} in "
            "train; `bench/synthetic.py`, seed "
            f"{s['seed']}); embeddings are synthetic random unit vectors, no encoder ran. "
            "Every reference is measured in the same run. Load average (1, 5, 15 min) "
            f"{s['load_average_start']} at the start, {s['load_average_end']} at the end "
            "(above ~1 the 2 cores were shared with other work).",
            "", table(["stage", "seconds", "reference seconds", "ratio", "target", "met",
                       "reference / note"], table_rows(s["rows"])), ""]


def render(run: dict[str, Any], out_dir: Path) -> str:
    """The Markdown report of a run (plots are written next to it in ``out_dir``)."""
    env = run["environment"]
    p = run.get("parameters", {})
    lines = ["# Benchmark report", "",
             f"Generated by `{run.get('command', 'python -m bench')}` at {run['created']} "
             f"(run `{run['id']}`, raw numbers in `{run['id']}.json`).", "",
             f"**Machine:** {machine_line(env)}.", "",
             "Parameters: " + ", ".join(f"{k}={v}" for k, v in sorted(p.items())) + ".", ""]
    for name, src in run.get("borrowed_runs", {}).items():
        sections = ", ".join(k for k, v in run["borrowed"].items() if v == name)
        lines += [f"Sections {sections} come from the earlier run `{name}`: `{src['command']}` at "
                  f"{src['created']} on {machine_line(src['environment'])}.", ""]
    lines += _stages_md(run, out_dir)
    lines += _components_md(run)
    lines += _protocol_md(run)
    lines += _quality_md(run, out_dir)
    lines += _scaling_md(run, out_dir)
    lines += _ablation_md(run)
    lines += _scale_md(run)
    return "\n".join(lines).rstrip() + "\n"


def summary_block(run: dict[str, Any], report_link: str) -> str:
    """The short generated block for README.md / docs/benchmarks.md. The machine line is the
    one of the run that measured the quality table (it may be an earlier run)."""
    source = run.get("borrowed", {}).get("quality")
    env = run["borrowed_runs"][source]["environment"] if source else run["environment"]
    lines = [BEGIN,
             "<!-- generated by bench/report.py from the latest run; do not edit by hand -->",
             "**Benchmarks** (`make bench` regenerates them; what is measured and how: "
             "docs/benchmarks.md). "
             f"Measured on {machine_line(env)}. Full report: "
             f"[{report_link}]({report_link}).", ""]
    q = run.get("quality")
    if q:
        lines += [f"Quality on {q['dataset']} (test, at the best validation Recall@20 epoch; "
                  f"{_conditions(q)}):", "",
                  table(["model", *METRIC_COLUMNS, "s/epoch"],
                        [[m["model"] + _capped(m, q.get("max_epochs")),
                          *(pm(m, "test", k) for k in METRIC_COLUMNS),
                          fmt(m.get("seconds_per_epoch"), 2)] for m in q["models"]]), "",
                  *_missing(q)]
        if q.get("paired_test"):
            lines += [_paired_text(q["paired_test"]), ""]
    p = run.get("protocol")
    published = next((c for c in (p or {}).get("cells", [])
                      if (c["scope"], c["selection"]) == ("all", "test")), None)
    if published and published["inflation"]:
        lines += ["The published protocol (user texts from all splits, configuration chosen on "
                  f"test) inflates MLLMRec on {p['dataset']} by "
                  f"{_inflation(published['inflation']['recall@20'])} Recall@20 and "
                  f"{_inflation(published['inflation']['ndcg@20'])} NDCG@20 over ours "
                  "(report section \"Protocol\").", ""]
    ablation = run.get("ablation") or {}
    better = ablation.get("better_on_validation")
    if better is None and ablation.get("rows"):
        from bench.ablation import better_on_validation

        better = better_on_validation(ablation["rows"])
    if better:
        lines += ["Better than the default on validation (ablation): " + "; ".join(
            f"{b['variant']} (valid Recall@20 {b['valid']:.4f} vs {b['full_valid']:.4f}; "
            f"`{b['pick']}`)" for b in better) + ".", ""]
    stages = run.get("stages")
    if stages:
        lines += [table(["stage", "dataset", "seconds", "per second"],
                        [[s["stage"], s["dataset"], fmt(s["seconds"], 2),
                          f"{fmt(s.get('throughput'), 1)} {s.get('unit') or ''}".strip()
                          if s.get("throughput") else "-"]
                         for s in stages if not s["stage"].startswith(SUB)]), ""]
    s = run.get("scaling")
    if s:
        lines += ["Scaling slopes (log-log, synthetic data "
                  f"{fmt(s['rows'][0]['interactions'])} to {fmt(s['rows'][-1]['interactions'])} "
                  "interactions): " + ", ".join(f"{k} {_slope(v)}" for k, v in s["slopes"].items())
                  + ".", ""]
    lines.append(END)
    return "\n".join(lines)


def replace_block(text: str, block: str) -> str:
    """Replace the marker-delimited block in ``text`` (append it if there is none)."""
    pattern = re.compile(re.escape(BEGIN) + r".*?" + re.escape(END), re.S)
    if pattern.search(text):
        return pattern.sub(lambda _: block, text, count=1)
    return text.rstrip("\n") + "\n\n" + block + "\n"


def write_report(run: dict[str, Any], results_dir: Path,
                 docs: tuple[Path, ...] = ()) -> Path:
    """Write the JSON of ``run``, REPORT.md and plots (filling sections the run lacks from
    earlier runs), and refresh the generated block in each of ``docs``. Returns REPORT.md."""
    write_json(run, results_dir)
    full = fill_missing(run, results_dir)
    report = results_dir / "REPORT.md"
    report.write_text(render(full, results_dir))
    for doc in docs:
        if doc.exists():
            link = Path(_relpath(report, doc.parent))
            doc.write_text(replace_block(doc.read_text(), summary_block(full, str(link))))
    return report


def rerender(results_dir: Path, docs: tuple[Path, ...] = ()) -> Path:
    """Rebuild REPORT.md and the doc blocks from the newest run JSON, measuring nothing."""
    runs = previous_runs(results_dir)
    if not runs:
        raise FileNotFoundError(f"no run JSON in {results_dir}; run 'python -m bench' first")
    return write_report(runs[0][1], results_dir, docs)


def _relpath(target: Path, start: Path) -> str:
    import os

    return os.path.relpath(target.resolve(), start.resolve())
