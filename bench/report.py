"""``bench/results/REPORT.md`` from run files (``bench/results/<UTC time>.json``).

A run file holds only what its run measured. The report takes each section from the newest
of the given run files that has it, and every section says which run that was: its date,
commit and command, so a section not re-run is never mistaken for a fresh one. The protocol
and quality sections appear once per dataset measured (the newest run of each). The joins:
the protocol section's user-text scopes, completed from another run of the SAME commit
measured under the same conditions; the cold-start tables, completed with other runs' tables,
seeds and a seed's methods (on an identical split) under the same conditions at any clean
commit. Every run joined is named.

``python -m bench report [--from FILE ...]`` rebuilds the report without measuring; README.md
links to the report and is never rewritten.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.ablation import better_on_validation
from bench.cold_start import conditions as cold_conditions
from bench.cold_start import joined as cold_parts
from bench.cold_start import merge as cold_merge
from bench.cold_start import run_labels as cold_run_labels
from bench.cold_start import table as cold_table
from bench.embed_paths import endpoint_rows, local_rows
from bench.options import SECTIONS, key
from bench.paper_scale import table_rows
from bench.plots import plot_curves, plot_scaling, plot_stage_times, slope_text
from bench.protocol import joined as protocol_parts
from bench.protocol import merge as protocol_merge
from bench.quality import joined as quality_parts
from bench.quality import merge as quality_merge
from bench.results import Run, load, run_files
from bench.stages import SUB

METRIC_COLUMNS = ("recall@10", "ndcg@10", "recall@20", "ndcg@20")

# docs/method.md section 8: Recall@20 / NDCG@20 as published (Amazon 2014, 5-core). The MLLMRec
# row was produced with user features built from all splits, so it is an upper bound.
PUBLISHED: dict[str, dict[str, tuple[float, float]]] = {
    "LightGCN": {"Baby": (0.0754, 0.0328), "Sports": (0.0864, 0.0387), "Clothing": (0.0526, 0.0236)},
    "FREEDOM": {"Baby": (0.0992, 0.0424), "Sports": (0.1089, 0.0481), "Clothing": (0.0941, 0.0420)},
    "best baseline in the paper": {"Baby": (0.1096, 0.0482), "Sports": (0.1189, 0.0551),
                                   "Clothing": (0.1058, 0.0488)},
    "MLLMRec (as published)": {"Baby": (0.1814, 0.0846), "Sports": (0.1498, 0.0677),
                               "Clothing": (0.1323, 0.0580)},
}


# --------------------------------------------------------------------------- sources


@dataclass(frozen=True)
class Part:
    """One section of the report: its data and the run(s) it was measured by (one, except a
    section of :data:`JOINS` whose parts two runs of one commit measured)."""

    section: str
    data: Any
    runs: tuple[Run, ...]
    dataset: str | None = None  # sections of PER_DATASET: the dataset this part measured


#: Sections measured on one ``--dataset``: the report keeps the newest run of each dataset
#: (ML-100K first), so the Amazon Sports tables sit beside the ML-100K ones.
PER_DATASET = ("protocol", "quality")
DEFAULT_DATASET = "ml-100k"


def _dataset(run: Run, section: str) -> str:
    return str(run.doc[key(section)].get("dataset") or DEFAULT_DATASET)


def collect(runs: Sequence[Run]) -> list[Part]:
    """Each section from the newest of ``runs`` (newest first) that has it, in report order;
    a section of :data:`PER_DATASET` once per dataset measured."""
    parts = []
    for section in SECTIONS:
        having = [r for r in runs if r.doc.get(key(section))]
        if not having:
            continue
        found: list[tuple[Run, str | None]]
        if section in PER_DATASET:
            datasets = sorted({_dataset(r, section) for r in having},
                              key=lambda d: (d != DEFAULT_DATASET, d))
            found = [(next(r for r in having if _dataset(r, section) == d), d) for d in datasets]
        else:
            found = [(having[0], None)]
        for run, dataset in found:
            part = Part(section, run.doc[key(section)], (run,), dataset)
            parts.append(_complete(part, runs) if section in JOINS else part)
    return parts


@dataclass(frozen=True)
class Join:
    """How a section's parts measured by several runs come together."""

    merge: Callable[[Any, Any], Any]  # another run's part into this one's (None: nothing joins)
    parts: Callable[[Any], list[str]]  # what a run's part holds, as the provenance names it
    what: str  # what a part is called
    same_commit: bool  # whether the runs must share a commit
    shared: str  # what the joined runs share, for the provenance line


#: Sections whose parts several runs may measure.
JOINS: dict[str, Join] = {
    "protocol": Join(protocol_merge, protocol_parts, "user-text scope(s)", True,
                     "same commit, split, seeds and conditions, run in a second process"),
    "quality": Join(quality_merge, quality_parts, "model(s)", True,
                    "same commit, dataset, split, seeds and conditions, run in a second process"),
    "cold-start": Join(cold_merge, cold_parts, "table(s)", False,
                       "same held-out fraction, given interactions and enrichment; a seed's "
                       "methods joined only on an identical split, with the same epochs, "
                       "patience and validation interval"),
}


def _complete(part: Part, runs: Sequence[Run]) -> Part:
    """A section lacking parts, completed from the newest other runs (clean trees; of the same
    commit where :data:`JOINS` says so) measured under the same conditions."""
    join = JOINS[part.section]
    data, sources = part.data, part.runs
    for other in runs:
        clean = not (other.dirty or sources[0].dirty)
        same_code = clean and (other.commit == sources[0].commit or not join.same_commit)
        if other in sources or not same_code or not other.doc.get(key(part.section)):
            continue
        merged = join.merge(data, other.doc[key(part.section)])
        if merged is not None:
            data, sources = merged, (*sources, other)
    return Part(part.section, data, sources, part.dataset)


def write_report(results_dir: Path, paths: Sequence[Path] | None = None) -> Path:
    """Write ``results_dir/REPORT.md`` (and its plots) from ``paths`` (default: every run
    file in ``results_dir``). Returns the report's path."""
    runs = load(list(paths) if paths is not None else run_files(results_dir))
    if not runs:
        raise FileNotFoundError(f"no run JSON in {results_dir}; run 'python -m bench' first")
    report = results_dir / "REPORT.md"
    report.write_text(render(collect(runs), results_dir))
    return report


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


# --------------------------------------------------------------------------- sections


def _stages_md(stages: list[dict[str, Any]], out_dir: Path) -> list[str]:
    rows = [[s["stage"], s["dataset"], fmt(s["seconds"], 2), s.get("count"), s.get("unit"),
             fmt(s.get("throughput"), 1), fmt(s.get("peak_rss_mb"), 0)] for s in stages]
    plot_stage_times(stages, out_dir / "stage_times.png", SUB)
    return [table(["stage", "dataset", "seconds", "count", "unit", "per second",
                   "peak RSS MiB (Python)"], rows),
            "", "![stage times](stage_times.png)", ""]


def _components_md(comps: list[dict[str, Any]], out_dir: Path) -> list[str]:
    rows = [[c.get("script", ""), c["name"],
             ", ".join(f"{k}={fmt(v) if isinstance(v, float) else v}" for k, v in c.items()
                       if k not in ("script", "name"))] for c in comps]
    return ["The per-stage micro-benchmarks (`python -m bench components`); each compares "
            "against a reference computed in the same run.", "",
            table(["script", "benchmark", "numbers"], rows), ""]


def _capped(m: dict[str, Any], cap: int | None) -> str:
    """A mark for runs stopped by the epoch cap while validation was still improving (any
    seed)."""
    epochs, best = m.get("epochs"), m.get("best_epoch")
    pairs = list(zip(epochs, best or [])) if isinstance(epochs, list) else [(epochs, best)]
    if cap and any(e == cap and (b or 0) > cap - 5 for e, b in pairs):
        return " (still improving at the epoch cap)"
    return ""


def _missing(section: dict[str, Any]) -> list[str]:
    gone = section.get("missing") or []
    return [f"**Not run** (the run was stopped before them): {', '.join(map(str, gone))}.", ""] \
        if gone else []


def _paired_text(t: dict[str, Any] | None,
                 why: str = " (the baseline with the best mean validation Recall@20)") -> str:
    if not t:
        return ""
    return (f"Paired test, {t['metric']}, {t['a']} vs {t['b']}{why}: {t['test']} over {t['users']:,} test users "
            f"({t['nonzero_pairs']:,} with a difference): mean difference "
            f"{t['mean_difference']:+.4f}, {t['a']} better for {t['a_better_users']:,} users, "
            f"{t['b']} for {t['b_better_users']:,}; W = {fmt(t['statistic'])}, "
            f"p = {t['p_value']:.2g}.")


def _quality_md(q: dict[str, Any], out_dir: Path) -> list[str]:
    header = ["model", "valid recall@20", "valid ndcg@20", *[f"test {m}" for m in METRIC_COLUMNS],
              "best epoch (per seed)", "epochs (per seed)", "s/epoch", "peak RSS MiB"]
    rows = [[m["model"] + _capped(m, q.get("max_epochs")), pm(m, "valid", "recall@20"),
             pm(m, "valid", "ndcg@20"), *(pm(m, "test", k) for k in METRIC_COLUMNS),
             _per_seed(m.get("best_epoch")), _per_seed(m.get("epochs")),
             fmt(m.get("seconds_per_epoch"), 2), fmt(m.get("peak_rss_mb"), 0)] for m in q["models"]]
    pub = [[name, *(f"{r:.4f} / {n:.4f}" for r, n in vals.values())]
           for name, vals in PUBLISHED.items()]
    lines = [f"Dataset **{q['dataset']}**, split per docs/method.md section 1 (seed {q.get('seed')}); "
             "full ranking over all items with the user's training items masked; test metrics at "
             f"the best validation Recall@20 epoch. Conditions: {_conditions(q)}. "
             f"{q.get('note', '')}", "", *_missing(q), table(header, rows), ""]
    if q.get("paired_test"):
        lines += [_paired_text(q["paired_test"]), ""]
    if any(m.get("curve") for m in q["models"]):
        dataset = q.get("dataset") or DEFAULT_DATASET
        curves = "training_curves.png" if dataset == DEFAULT_DATASET else f"training_curves-{dataset}.png"
        plot_curves(q["models"], out_dir / curves)
        lines += [f"![training curves]({curves})", ""]
    if q.get("dataset") == "amazon-sports":
        published = ", ".join(f"{name} {vals['Sports'][0]:.4f}" for name, vals in PUBLISHED.items())
        return [*lines, "Published on Amazon 2014 Sports 5-core (docs/method.md section 8), test "
                f"Recall@20: {published}; the published MLLMRec built user texts from all splits "
                "(see the protocol section), so it is an upper bound, not a target.", ""]
    lines += ["### Published numbers (docs/method.md section 8), Recall@20 / NDCG@20",
              "These are on the Amazon 2014 Baby / Sports / Clothing 5-core datasets, not on "
              "MovieLens 100K, so they are not directly comparable with the table above. The "
              "published MLLMRec numbers used user features built from all splits (validation "
              "and test included), so they are an upper bound, not a target.", "",
              table(["model", "Baby", "Sports", "Clothing"], pub), ""]
    return lines


def _scaling_md(s: dict[str, Any], out_dir: Path) -> list[str]:
    if not s.get("rows"):
        return ["No size finished."]
    stages = list(s["slopes"])
    failed = "".join(f" The run at {f['interactions']:,} interactions failed: {f['error']}."
                     for f in s.get("failures", []))
    rows = [[r["interactions"], r["users"], r["items"],
             *(fmt(r[f"{st}_seconds"], 2) for st in stages)] for r in s["rows"]]
    plot_scaling(s, out_dir / "scaling.png")
    slopes = ", ".join(f"{st} {slope_text(v)}" for st, v in s["slopes"].items())
    return ["Synthetic catalogues shaped like Amazon Sports (users and items grow with "
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


def _ablation_md(a: dict[str, Any], out_dir: Path) -> list[str]:
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
        better = better_on_validation(a["rows"])
    verdict = ("Variants that beat the full method on validation Recall@20 (mean over seeds; "
               "the test split plays no part in this): " + "; ".join(
                   f"**{b['variant']}** ({b['valid']:.4f} vs {b['full_valid']:.4f}; pick it "
                   f"with `{b['pick']}`)" for b in better) + "."
               if better else "No variant beats the full method on validation Recall@20.")
    seeds = a.get("seeds") or []
    return [f"Dataset **{a['dataset']}**; every variant is the real trainer with one setting "
            f"changed, same split, protocol and seeds ({', '.join(map(str, seeds)) or 'one'}; "
            "mean ± sample std). " + a.get("note", ""), "", *_missing(a),
            table(header, rows), "", verdict, ""]


def _protocol_md(p: dict[str, Any], out_dir: Path) -> list[str]:
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
    return [f"Dataset **{p['dataset']}**. MLLMRec trained over the grid below with user "
            "texts built from "
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


def _paper_scale_md(s: dict[str, Any], out_dir: Path) -> list[str]:
    c = s["counts"]
    return [f"`python -m bench paper-scale --profile {s['profile']}`: synthetic Sports-shaped catalogue "
            f"({c.get('users', 0):,} users, {c.get('items', 0):,} items, "
            f"{c.get('interactions', 0):,} interactions, {c.get('train_interactions', 0):,} in "
            "train; `bench/synthetic.py`, seed "
            f"{s['seed']}); embeddings are synthetic random unit vectors, no encoder ran. "
            "Every reference is measured in the same run. Load average (1, 5, 15 min) "
            f"{s['load_average_start']} at the start, {s['load_average_end']} at the end "
            "(above ~1 the 2 cores were shared with other work)." + _arrivals_md(c),
            "", table(["stage", "seconds", "reference seconds", "ratio", "target", "met",
                       "reference / note"], table_rows(s["rows"])), ""]


def _embed_scale_md(s: dict[str, Any], out_dir: Path) -> list[str]:
    c = s.get("counts", {})
    lines = ["`python -m bench embed-scale`: the real Amazon Sports catalogue "
             f"({c.get('item', 0):,} keyword item texts, {c.get('user', 0):,} behavioural-list user "
             "texts, --no-llm) through every stage with the paper's Sports graph settings "
             f"({s.get('graph')}), then embed again in int8; each embed rate beside the encoder alone "
             f"on a seeded {s.get('sample_fraction', 0):.0%} sample of the same texts. Load average "
             f"(1, 5, 15 min) {s['load_average_start']} at the start, {s.get('load_average_end')} at "
             "the end (above ~1 the 2 cores were shared with other work).", ""]
    if s.get("stages"):
        epochs = f", MLLMRec trained to early stopping in {s['epochs']} epochs" if s.get("epochs") else ""
        lines += [f"Whole pipeline, ingest to a converged model: **{s['pipeline_seconds']:.0f} s**"
                  f"{epochs}.", "",
                  table(["stage", "seconds", "count", "unit", "per second"],
                        [[r["stage"], fmt(r["seconds"], 1), r.get("count"), r.get("unit"),
                          fmt(r.get("throughput"), 1)] for r in s["stages"]]), ""]
    if s.get("rows"):
        lines += [table(["stage", "seconds", "reference seconds", "ratio", "target", "met",
                         "reference / note"], table_rows(s["rows"])), ""]
    return lines


def _tune_md(t: dict[str, Any], out_dir: Path) -> list[str]:
    b, c, budget = t["best"], t["counts"], t["budget"]
    params = ", ".join(f"{k}={fmt(v, 5) if isinstance(v, float) else v}" for k, v in b["params"].items())
    trials = [[r["trial"], r["state"], fmt(r.get("valid_recall@20"), 4), r.get("epochs"),
               fmt(r.get("seconds"), 0),
               ", ".join(f"{k}={fmt(v, 5) if isinstance(v, float) else v}" for k, v in r["params"].items())]
              for r in t["trials"]]
    header = ["configuration", "valid recall@20", "valid ndcg@20",
              *[f"test {m}" for m in METRIC_COLUMNS], "best epoch (per seed)"]
    rows = [[m["label"] + _capped(m, t.get("max_epochs")), pm(m, "valid", "recall@20"),
             pm(m, "valid", "ndcg@20"), *(pm(m, "test", k) for k in METRIC_COLUMNS),
             _per_seed(m.get("best_epoch"))] for m in t["models"]]
    lines = [f"`python -m bench tune --dataset {t['dataset']}`: `mllmrec tune`'s default study "
             f"({budget['n_trials']} trials, {budget['sampler']} sampler, {budget['pruner']} pruner, "
             f"at most {budget['epochs']} epochs and patience {budget['patience']} per trial), chosen "
             f"on validation Recall@20 only: {c.get('complete', 0)} trials complete, "
             f"{c.get('pruned', 0)} pruned, {c.get('failed', 0)} failed, in **{t['seconds'] / 60:.1f} "
             f"minutes**. Best: trial {b['trial']} ({params}), valid Recall@20 "
             f"{b['valid_recall@20']:.4f}.", "",
             table(["trial", "state", "valid recall@20", "epochs", "seconds", "parameters"], trials), "",
             f"Then trained to early stopping (patience {t.get('patience')}, at most "
             f"{t.get('max_epochs')} epochs) with seeds {', '.join(map(str, t['seeds']))}; mean ± "
             "sample std.", "", table(header, rows), ""]
    for p in t.get("paired_tests") or []:
        lines += [_paired_text(p, ""), ""] if p else []
    return lines


def _encoder_precision_md(e: dict[str, Any], out_dir: Path) -> list[str]:
    header = ["encoder", "valid recall@20", "valid ndcg@20", *[f"test {m}" for m in METRIC_COLUMNS],
              "best epoch (per seed)"]
    rows = [[m["label"] + _capped(m, e.get("max_epochs")), pm(m, "valid", "recall@20"),
             pm(m, "valid", "ndcg@20"), *(pm(m, "test", k) for k in METRIC_COLUMNS),
             _per_seed(m.get("best_epoch"))] for m in e["models"]]
    return [f"`python -m bench encoder-precision --dataset {e['dataset']}`: every stage on int8 "
            "vectors (item and user embeddings, hence the semantic graph) beside fp32, default "
            f"MLLMRec to early stopping (patience {e.get('patience')}) with seeds "
            f"{', '.join(map(str, e['seeds']))}; mean ± sample std.", "", table(header, rows), "",
            _paired_text(e.get("paired_test"), ""), ""]


def _arrivals_md(c: dict[str, Any]) -> str:
    """The sentence on the refresh rows, when the run measured them."""
    if "new_items" not in c:
        return ""
    return (f" After training, {c['new_items']:,} new items and {c['new_users']:,} new users "
            f"({c['new_interactions']:,} interactions) arrive through the incremental ingest "
            "with synthetic text vectors, and `refresh` serves them from text with the serving "
            f"run's weights (issue 19): {c['refreshed_items']:,} items and "
            f"{c['refreshed_users']:,} users served, {c['touched_items']:,} existing items "
            "gained a new neighbour.")


def _mean_std(row: dict[str, Any], key: str, metric: str) -> str:
    """``mean ± std`` of a cold-start row's metric over its seeds."""
    value = row["mean"].get(key, {}).get(metric)
    if value is None:
        return "-"
    std = row["std"].get(key, {}).get(metric)
    return f"{value:.4f} ± {std:.4f}" if len(row.get("seeds", [])) > 1 else f"{value:.4f}"


COLD_GROUP_NAMES = {"cold_items": "cold items among all", "cold_among_cold": "cold among cold",
                    "cold_users": "cold users"}


def _cold_conditions(t: dict[str, Any], c: dict[str, Any]) -> str:
    """The sentence under a cold-start table: its seeds and how its models were trained."""
    k = cold_conditions(t, c)
    done = [x["seed"] for x in t.get("counts", [])]
    asked = [s for s in k.get("seeds") or [] if s not in done]
    every = k.get("eval_every") or 1
    shown = {r["label"] for r in t["methods"]}
    absent = [label for label in cold_run_labels(k.get("runs") or []) if label not in shown]
    chosen = any(r.get("chosen") for r in t["methods"])
    chosen_on = sorted({seed for r in t["methods"] for seed in r.get("chosen_on", [])})
    return (f"Seeds {', '.join(map(str, done))}"
            + (f" (not measured: {', '.join(map(str, asked))})" if asked else "")
            + (f"; not trained yet: {', '.join(absent)}" if absent else "")
            + ("" if chosen else "; one negative pool per method, as `--cold-runs` named it "
               "(none chosen on this dataset's validation)")
            + (f"; the negative pools compared on validation of seed(s) "
               f"{', '.join(map(str, chosen_on))} only (the seeds both pools were measured on)"
               if chosen_on else "")
            + f"; early stopping on validation Recall@20, patience {k.get('patience')}, at most "
            f"{k.get('max_epochs')} epochs, validated "
            + ("every epoch" if every == 1 else f"every {every} epochs") + ".")


def _seed_count(row: dict[str, Any]) -> str:
    n = len(row.get("seeds", []))
    return f" ({n} seed{'' if n == 1 else 's'})"


def _cold_start_md(c: dict[str, Any], out_dir: Path) -> list[str]:
    lines = [f"`{c['fraction']:.0%}` of the items (protocol cold-items) or of the users "
             "(cold-users) held out entirely by the ingest (`--cold-items` / `--cold-users`, "
             "docs/train.md, Cold start): no training interaction, no co-occurrence edge, no "
             "place in any user text; a cold user's text comes from its "
             f"{c.get('cold_given')} oldest interactions, which are never scored. Each seed "
             "draws the held-out entities and seeds training; mean ± sample std over seeds. "
             "Test targets by group: warm, cold items ranked among all items, cold items "
             "ranked among the cold items only, cold users; known items masked. Rows marked * "
             "are the negative pool chosen on validation Recall@20. LightGCN and BPR-MF know "
             "nothing of a cold item or user (its ID embedding is its random initialisation, "
             "moved only as a sampled negative under `all`): their cold columns measure random "
             f"scoring, as the random row does. {c.get('note', '')}", ""]
    for source, protocols in c.get("datasets", {}).items():
        for protocol, stored in protocols.items():
            t = cold_table(protocol, stored, c)
            groups = t["groups"]
            header = ["method", "negatives", "valid R@20", "warm R@20", "warm N@20",
                      *[f"{COLD_GROUP_NAMES.get(g, g)} {m}" for g in groups
                        for m in METRIC_COLUMNS]]
            # a seed still being measured leaves some rows on fewer seeds: show how many
            partial = len({tuple(r.get("seeds", [])) for r in t["methods"]}) > 1
            rows = [[(r["method"] if r.get("negatives") else r["label"])
                     + (" *" if r.get("chosen") else "")
                     + (_seed_count(r) if partial else ""),
                     r.get("negatives") or "-", _mean_std(r, "valid", "recall@20"),
                     _mean_std(r, "test_warm", "recall@20"), _mean_std(r, "test_warm", "ndcg@20"),
                     *[_mean_std(r, f"test_{g}", m) for g in groups for m in METRIC_COLUMNS]]
                    for r in t["methods"]]
            lines += [f"### {source}, {protocol}", "", _cold_conditions(t, c), "",
                      table(header, rows), ""]
            for p in t.get("paired_tests", []):
                lines += [f"Paired test, per (seed, user) test Recall@20 on "
                          f"{COLD_GROUP_NAMES.get(p['group'], p['group'])}, {p['a']} vs {p['b']}: "
                          "Wilcoxon signed-rank, two-sided (zero differences dropped) over "
                          f"{p['pairs']:,} pairs ({p['nonzero_pairs']:,} differ): mean difference "
                          f"{p['mean_difference']:+.4f}, {p['a']} better for {p['a_better']:,}, "
                          f"{p['b']} for {p['b_better']:,}; p = {p['p_value']:.2g}.", ""]
    return lines


OVERHEAD_RUNS = {
    "train": "`train_model` as `mllmrec train` calls it (test pulled and evaluated, vectors "
             "staged and served)",
    "trainer": "the same with `trial=True`: a trial's trainer work without the study",
    "trial": "one trial of a real study (`run_study`): Optuna's trial start to the end of its "
             "per-trial callback"}


def _tune_overhead_md(o: dict[str, Any], out_dir: Path) -> list[str]:
    verdict = {True: "yes", False: "**NO**", None: "-"}
    runs = o.get("runs", [])
    rows = [[kind, what, fmt(o.get(f"{kind}_seconds"), 2),
             ", ".join(f"{r['seconds']:.2f}" for r in runs if r["kind"] == kind) or "-",
             _per_seed([r["epochs"] for r in runs if r["kind"] == kind])]
            for kind, what in OVERHEAD_RUNS.items()]
    rows.append(["once per `tune` call", "opening the study, its node and StageRun, the graph "
                 "inputs' fingerprint, the winner's test evaluation (not part of a trial)",
                 fmt(o.get("once_seconds"), 2),
                 ", ".join(f"{r['once_seconds']:.2f}" for r in runs if r["kind"] == "trial") or "-",
                 "-"])
    ratios = [[f"trial / {base}", fmt(o.get(name), 3), f"<= {o.get('target')}",
               verdict[o.get(name.replace("ratio", "met"))]]
              for name, base in (("ratio", "train"), ("trainer_ratio", "trainer"))]
    done = len({r["repeat"] for r in runs})
    return [f"Dataset **{o.get('source')}** through the real stages (ingest .. build-graph); "
            f"{o.get('model')}, seed {o.get('seed')}, {o.get('threads')} thread(s), exactly "
            f"{o.get('epochs')} epochs in every run (patience = epochs, no pruner) on one graph "
            f"build (`{o.get('graph_build')}`); {done} of {o.get('repeats')} repeats, the three "
            "runs interleaved in a rotating order; medians. Load average (1, 5, 15 min) "
            f"{o.get('load_average_start')} at the start, {o.get('load_average_end')} at the end "
            "(above ~1 the 2 cores were shared with other work). The issue's target is trial / "
            "train; a trial skips the test split and the staging of vectors, so trial / trainer "
            "(the same trainer work) measures the study's own bookkeeping alone.", "",
            table(["run", "what", "median s", "per repeat s", "epochs"], rows), "",
            table(["ratio", "value", "target", "met"], ratios), ""]


def _embed_paths_md(e: dict[str, Any], out_dir: Path) -> list[str]:
    lines = [f"`python -m bench embed-paths`, no database. Load average (1, 5, 15 min) "
             f"{e['load_average_start']} at the start, {e.get('load_average_end', '-')} at the "
             "end (above ~1 the 2 cores were shared with other work).", ""]
    if e.get("local"):
        loc = e["local"]
        lines += [f"Local encoder (all-MiniLM-L6-v2, CPU): {loc['texts']:,} ML-100K item texts "
                  f"(no-LLM form), batch {loc.get('batch_size', '-')}, fp32 and int8 "
                  f"alternating, median of {loc.get('repeats', '-')} round(s); parity is the "
                  "cosine between the int8 and fp32 vectors of the same texts.", "",
                  table(["measure", "value", "target", "met"], local_rows(loc)), ""]
    if e.get("endpoint"):
        ep = e["endpoint"]
        lines += [f"Endpoint clients against the stub server of the tests "
                  f"(`tests/endpoint_stub.py`, its own process), {ep['latency']:g} s per answer; "
                  f"each client sends C x {ep['waves']} requests (embed: 2 texts each, chat: "
                  f"one prompt), after one untimed round; median of {ep['repeats']} round(s). "
                  "Target: requests/s >= 0.9 x C / latency.", "",
                  table(["client", "C", "requests", "C / latency", "req/s", "ratio",
                         "ratio per round", "target", "met"], endpoint_rows(ep)), ""]
    return lines


# --------------------------------------------------------------------------- the report


TITLES = {"stages": "Pipeline stages", "components": "Stage micro-benchmarks",
          "protocol": "Protocol: the published evaluation beside ours",
          "quality": "Recommendation quality", "scaling": "Scaling", "ablation": "Ablation",
          "paper-scale": "Paper scale", "embed-scale": "Embedding at paper scale, real texts",
          "tune": "Tuning: mllmrec tune's study and its winner",
          "encoder-precision": "int8 encoder: effect on quality",
          "train-speed": "Training loops against PyTorch",
          "train-parallel": "LightGCN epoch: sampled blocks and two processes",
          "cold-start": "Cold start", "tune-overhead": "Tuning: a trial against the same train run",
          "embed-paths": "Three ways to embed: local fp32, int8, endpoint"}


def _rows_md(data: dict[str, Any], out_dir: Path) -> list[str]:
    """A section whose result is a list of flat rows: one column per key."""
    rows = data["rows"]
    keys = dict.fromkeys(k for r in rows for k in r)  # run files store keys sorted
    header = [k for k in ("stage", "setting") if k in keys] + \
        [k for k in keys if k not in ("stage", "setting")]
    note = ", ".join(f"{k} {v}" for k, v in data.items() if k != "rows")
    return [note + ".", "", table(header, [[r.get(k) for k in header] for r in rows]), ""]


RENDER: dict[str, Callable[[Any, Path], list[str]]] = {
    "stages": _stages_md, "components": _components_md, "protocol": _protocol_md,
    "quality": _quality_md, "scaling": _scaling_md, "ablation": _ablation_md,
    "paper-scale": _paper_scale_md, "embed-scale": _embed_scale_md, "tune": _tune_md,
    "encoder-precision": _encoder_precision_md,
    "train-speed": _rows_md, "train-parallel": _rows_md,
    "cold-start": _cold_start_md, "tune-overhead": _tune_overhead_md,
    "embed-paths": _embed_paths_md}


def _source(run: Run) -> str:
    dirty = " with uncommitted changes" if run.dirty else ""
    return f"run `{run.path.stem}` of {run.date}, commit `{run.commit}`{dirty}"


def provenance(part: Part) -> str:
    """The line under a section's title: which run(s) measured it, when, at which commit."""
    first, *more = part.runs
    if more:
        join = JOINS[part.section]
        joined = "".join(f"; {join.what} {', '.join(join.parts(r.doc[key(part.section)]))} from "
                         f"{_source(r)} ({join.shared})" for r in more)
    else:
        joined = ""
    return (f"_Measured by {_source(first)}: `{first.doc.get('command', 'python -m bench')}`"
            f"{joined}._")


def render(parts: Sequence[Part], out_dir: Path) -> str:
    """The Markdown report of ``parts`` (plots are written next to it in ``out_dir``)."""
    runs = list(dict.fromkeys(r for p in parts for r in p.runs))
    lines = ["# Benchmark report", "",
             "Rebuilt by `python -m bench report` from the run files below (raw numbers in "
             "each JSON). Every section comes whole from the run named under its title, except "
             "where that line names further runs and what they share (the cold-start tables "
             "may join seeds measured at different commits; each run and commit is named).", "",
             table(["section", "run file", "date", "commit", "command"],
                   [[p.section + (f" ({p.dataset})" if p.dataset else ""),
                     ", ".join(r.name for r in p.runs), p.runs[0].date,
                     p.runs[0].commit + (" (dirty)" if p.runs[0].dirty else ""),
                     f"`{p.runs[0].doc.get('command', '')}`"] for p in parts]), "",
             "Machines:", "",
             *[f"- `{r.path.stem}`: {machine_line(r.doc['environment'])}." for r in runs], ""]
    for part in parts:
        several = sum(p.section == part.section for p in parts) > 1
        title = TITLES[part.section] + (f", {part.dataset}" if several else "")
        lines += [f"## {title}", "", provenance(part), "",
                  *RENDER[part.section](part.data, out_dir)]
    return "\n".join(lines).rstrip() + "\n"
