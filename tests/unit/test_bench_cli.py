"""The benchmark tool's shape: one entry point whose help lists every section, one options
object with the documented defaults, and modules that import each other in one direction."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from bench.options import ON_DATASET, PROFILES, SECTIONS, SEEDS, parse
from bench.queries import FOLDER, query

BENCH = Path(__file__).resolve().parents[2] / "bench"


def test_help_lists_every_section():
    out = subprocess.run([sys.executable, "-m", "bench", "--help"], capture_output=True,
                         text=True, timeout=120, cwd=BENCH.parent, check=True).stdout
    assert out.startswith("usage: python -m bench")
    listed = out.split("sections:")[1]
    for name in (*SECTIONS, "all", "report"):
        assert f"\n  {name} " in listed


def test_options_defaults_and_quick():
    o = parse(["quality", "ablation"])
    assert o.sections == ("quality", "ablation") and len(o.seeds) == SEEDS == 5
    assert o.seeds == (2025, 2026, 2027, 2028, 2029) and (o.max_epochs, o.patience) == (1000, 20)
    q = parse(["ablation", "stages", "--quick", "--seed", "7"])
    assert q.sections == ("stages", "ablation")  # run order, not command-line order
    assert q.seeds == (7,) and (q.max_epochs, q.patience) == (40, 5)
    assert parse(["all"]).sections == tuple(SECTIONS)
    assert parse(["protocol", "--seeds", "2", "--grid-knn-k", "3,4"]).grid.knn_k == (3, 4)
    r = parse(["report", "--from", "a.json", "b.json"])
    assert r.report_only and r.sources == (Path("a.json"), Path("b.json"))
    assert not parse(["train-speed"]).needs_neo4j and parse(["scaling"]).needs_neo4j
    e = parse(["embed-paths"])
    assert not e.needs_neo4j and (e.embed_texts, e.embed_repeats) == (2_000, 3)
    assert (e.endpoint_latency, e.endpoint_concurrency) == (0.2, (1, 4, 8))
    eq = parse(["embed-paths", "--quick", "--endpoint-concurrency", "2,16"])
    assert (eq.embed_texts, eq.embed_repeats, eq.endpoint_concurrency) == (256, 1, (2, 16))
    assert set(PROFILES) == {"sports", "small"}


def test_tune_overhead_needs_the_dataset_but_not_its_first_training_run():
    from bench.stages import trains_first

    o = parse(["tune-overhead", "--quick"])
    assert o.sections == ("tune-overhead",) and o.needs_neo4j and "tune-overhead" in ON_DATASET
    assert not trains_first(o)  # the stages run (ingest .. build-graph), MLLMRec is not trained
    assert trains_first(parse(["protocol"])) and trains_first(parse(["tune-overhead", "quality"]))
    assert not trains_first(parse(["protocol", "--protocol-scopes", "all"]))


@pytest.mark.parametrize("argv", [["report", "quality"], ["quality", "--from", "x.json"],
                                  ["nope"], ["protocol", "--protocol-scopes", "test"],
                                  ["embed-paths", "--endpoint-concurrency", "0"]])
def test_bad_command_lines_are_refused(argv):
    with pytest.raises(SystemExit) as exc:
        parse(argv)
    assert exc.value.code == 2


def _bench_imports(path: Path, modules: set[str]) -> set[str]:
    """The bench modules ``path`` imports anywhere in it (top level or inside functions)."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
        else:
            continue
        out |= {n.split(".", 2)[1] for n in names if n.startswith("bench.")} & modules
    return out


def test_bench_modules_import_each_other_without_a_circle():
    modules = {p.stem for p in BENCH.glob("*.py")}
    graph = {m: _bench_imports(BENCH / f"{m}.py", modules) - {m} for m in modules}
    assert graph["options"] == set()  # the bottom of the graph
    assert "report" not in graph["stages"]  # the edge that closed the old circle
    done: set[str] = set()

    def visit(m: str, path: list[str]) -> None:
        assert m not in path, "import circle: " + " -> ".join([*path[path.index(m):], m])
        if m in done:
            return
        for n in sorted(graph[m]):
            visit(n, [*path, m])
        done.add(m)

    for m in sorted(graph):
        visit(m, [])


def test_the_product_never_imports_bench():
    root = BENCH.parent
    for path in [*root.glob("mllmrec/**/*.py"), *root.glob("loaders/**/*.py")]:
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                     [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            assert not any(n == "bench" or n.startswith("bench.") for n in names), path


def test_every_benchmark_query_loads_and_takes_parameters():
    names = sorted(p.stem for p in FOLDER.glob("*.cypher"))
    assert names
    for name in names:
        assert "$dataset" in query(name) or "$run" in query(name)
    with pytest.raises(Exception, match="no benchmark query"):
        query("no_such_query")
