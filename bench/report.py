"""Turn one benchmark run (a plain dict) into the files a reader trusts:

- ``bench/results/<timestamp>.json``: everything measured, with machine, versions, commit and
  parameters, so any number can be traced back;
- ``bench/results/REPORT.md`` with tables and PNG plots (matplotlib, Agg backend): stage
  times and throughput, training curves, the quality table beside the published numbers,
  the scaling plot with fitted slopes, the ablation table;
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

SECTIONS = ("stages", "components", "quality", "scaling", "ablation", "scale")
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
    out["borrowed"] = borrowed
    out["borrowed_runs"] = sources
    return out


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
        if m.get("best_epoch") is not None:
            ax2.axvline(m["best_epoch"], ls=":", lw=0.8, color=ax2.lines[-1].get_color())
    ax1.set_xlabel("epoch"), ax1.set_ylabel("BPR loss"), ax1.set_title("Training loss")
    ax2.set_xlabel("epoch"), ax2.set_ylabel(f"validation {metric}")
    ax2.set_title(f"Validation {metric} (dotted: best epoch)")
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
    """A mark for runs stopped by the epoch cap while validation was still improving."""
    if cap and m.get("epochs") == cap and m.get("best_epoch", 0) > cap - 5:
        return " (still improving at the epoch cap)"
    return ""


def _quality_md(run: dict[str, Any], out_dir: Path) -> list[str]:
    q = run.get("quality")
    if not q:
        return []
    header = ["model", *[f"valid {m}" for m in METRIC_COLUMNS],
              *[f"test {m}" for m in METRIC_COLUMNS], "best epoch", "epochs", "s/epoch",
              "peak RSS MiB"]
    rows = [[m["model"] + _capped(m, q.get("max_epochs")), *(m["valid"].get(k) for k in METRIC_COLUMNS),
             *(m["test"].get(k) for k in METRIC_COLUMNS), m.get("best_epoch"), m.get("epochs"),
             fmt(m.get("seconds_per_epoch"), 2), fmt(m.get("peak_rss_mb"), 0)] for m in q["models"]]
    pub = [[name, *(f"{r:.4f} / {n:.4f}" for r, n in vals.values())]
           for name, vals in PUBLISHED.items()]
    lines = ["## Recommendation quality", _source_note(run, "quality"),
             f"Dataset **{q['dataset']}**, split per METHOD.md section 1 (seed {q.get('seed')}); "
             "full ranking over all items with the user's training items masked; test metrics at "
             "the best validation Recall@20 epoch (early stopping, patience "
             f"{q.get('patience')}, at most {q.get('max_epochs')} epochs). {q.get('note', '')}",
             "", table(header, rows), ""]
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


def _ablation_md(run: dict[str, Any]) -> list[str]:
    a = run.get("ablation")
    if not a:
        return []
    rows = [[r["variant"], r["change"], _edges_text(r.get("graph_edges")),
             *(r["valid"].get(k) for k in METRIC_COLUMNS[2:]),
             *(r["test"].get(k) for k in METRIC_COLUMNS), r.get("best_epoch"),
             r.get("note", "")] for r in a["rows"]]
    header = ["variant", "change", "item-item edges (co-occurs / similar)", "valid recall@20",
              "valid ndcg@20", *[f"test {m}" for m in METRIC_COLUMNS], "best epoch", "note"]
    return ["## Ablation", _source_note(run, "ablation"),
            f"Dataset **{a['dataset']}**; every variant is the real trainer with one setting "
            "changed, same split, seed and protocol. " + a.get("note", ""), "",
            table(header, rows), ""]


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
                  f"at most {q.get('max_epochs')} epochs, patience {q.get('patience')}):", "",
                  table(["model", *METRIC_COLUMNS, "s/epoch"],
                        [[m["model"], *(m["test"].get(k) for k in METRIC_COLUMNS),
                          fmt(m.get("seconds_per_epoch"), 2)] for m in q["models"]]), ""]
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
