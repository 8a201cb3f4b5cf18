"""The Cypher literals of ``explore --browser`` / ``--show`` / ``:param`` lines against the real
server: any value the CLI accepts is either refused with MllmrecError (by an independent rule,
:func:`writable`) or written as text that Neo4j evaluates to the same value and plans as the
parameterised query, operator for operator, so no value can add a clause. Hypothesis draws
the values from what ``--param NAME=VALUE`` parses (YAML of JSON-like values, raw strings),
biased towards quotes, backticks, comment markers and line breaks."""
from __future__ import annotations

import json
import math
from typing import Any

import neo4j
import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from mllmrec.config import Neo4jSettings
from mllmrec.errors import MllmrecError
from mllmrec.ops.explore import ExploreQuery, browser_link, browser_text, get_query, show_text
from tests.conftest import run_cli

pytestmark = pytest.mark.e2e

# A query in the explore file format: a non-string default makes --param values YAML.
PROBE = ExploreQuery("probe", "probe", {"value": 0, "text": ""},
                     "// probe\n// :param value => 0\n// :param text => \"\"\n"
                     "RETURN $value AS value, $text AS text", graph_view=False)

NASTY = ["`", "``", '"', "'", "\\", "\\u0041", "//", "/*", "*/", "\n", "\r", "\u2028", "}",
         ")", "]", ":", ";", "$value", "` }) MATCH (n) DETACH DELETE n //", "é", "😀", "\x00"]
texts = st.one_of(st.text(max_size=12), st.lists(st.sampled_from(NASTY), max_size=5).map("".join))
scalars = st.one_of(st.none(), st.booleans(), st.integers(-(2**63), 2**63 - 1),
                    st.integers(), st.floats(), texts)
values = st.recursive(scalars, lambda children: st.one_of(
    st.lists(children, max_size=3), st.dictionaries(texts, children, max_size=3)), max_leaves=8)


@st.composite
def cli_values(draw: st.DrawFn) -> str:
    """A --param VALUE string: a value dumped as JSON or YAML, or arbitrary text."""
    value = draw(values)
    how = draw(st.sampled_from(["json", "ascii json", "yaml", "text"]))
    if how == "text":
        return draw(texts)
    if how == "yaml":
        return yaml.safe_dump(value, default_flow_style=True, allow_unicode=True).strip()
    return json.dumps(value, ensure_ascii=how == "ascii json")


def writable(value: Any) -> bool:
    """The values with a Cypher literal, stated independently of the writer."""
    if value is None or isinstance(value, bool):
        return True
    if isinstance(value, int):
        return -(2**63) <= value < 2**63
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, str):
        return not any(0xD800 <= ord(c) <= 0xDFFF for c in value)
    if isinstance(value, list):
        return all(map(writable, value))
    if isinstance(value, dict):
        # Neo4j reads \uXXXX escapes inside backtick-quoted names: no literal backslash
        return all(isinstance(k, str) and k.isprintable() and "\\" not in k and writable(k)
                   and writable(v) for k, v in value.items())
    return False


def typed(value: Any) -> Any:
    """A value with its types spelt out: 1, 1.0 and True differ, and so do 0.0 and -0.0."""
    if isinstance(value, float):
        return ("float", value.hex())
    if isinstance(value, list):
        return ("list", [typed(v) for v in value])
    if isinstance(value, dict):
        return ("map", sorted((k, typed(v)) for k, v in value.items()))
    return (type(value).__name__, value)


def plan_shape(store, text: str, params: dict[str, Any]) -> Any:
    """The operator tree of ``EXPLAIN text``: an added clause adds or changes operators."""
    _, summary, _ = store.driver.execute_query("EXPLAIN " + text, parameters_=params,
                                               database_=store.database)

    def shape(plan: dict) -> Any:
        return (plan["operatorType"], [shape(c) for c in plan.get("children", [])])

    return shape(summary.plan)


def rows(store, text: str, params: dict[str, Any]) -> Any:
    records, _, _ = store.driver.execute_query(text, parameters_=params, database_=store.database)
    return [typed(r.data()) for r in records]


def check_round_trip(store, q: ExploreQuery, params: dict[str, Any]) -> None:
    """browser_text, each :param line and show_text against the parameterised query."""
    editor = browser_text(q, params)
    assert rows(store, editor, {}) == rows(store, q.text, params)
    assert plan_shape(store, editor, {}) == plan_shape(store, q.text, params)
    link_lines = browser_link(q, params, Neo4jSettings()).param_lines
    for line, (name, value) in zip(link_lines, params.items(), strict=True):
        head, _, literal = line.partition(" => ")
        assert head == f":param {name}" and "\n" not in line and "\r" not in line
        assert rows(store, f"RETURN {literal} AS v", {}) == [typed({"v": value})]
        assert plan_shape(store, f"RETURN {literal} AS v", {}) == \
            plan_shape(store, "RETURN $v AS v", {"v": value})
    shown = show_text(q, params)
    assert rows(store, shown, params) == rows(store, q.text, params)
    assert [line for line in shown.splitlines() if line.startswith("// :param")] == \
        ["// " + line for line in link_lines]


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=cli_values(), text=texts)
@example(raw="\\u0000:", text="")  # a key Neo4j would read as NUL (found by this property)
def test_every_accepted_value_round_trips_or_is_refused(store, raw, text):
    params = PROBE.params("ml-100k", {"value": raw, "text": text})
    assert params["text"] == text  # a string parameter keeps the raw text
    value = params["value"]
    if not (writable(value) and writable(text)):
        with pytest.raises(MllmrecError):
            browser_text(PROBE, params)
        return
    check_round_trip(store, PROBE, params)


@pytest.mark.parametrize("value", [
    float("nan"), float("inf"), -float("inf"), 2**63, -(2**63) - 1, {1: "a"}, {"a\nb": 1},
    {"a\u2028b": 1}, {"\\u0000": None}, {"a\\`": 1}, "\ud800", [b"bytes"]])
def test_values_without_a_literal_are_refused(value):
    with pytest.raises(MllmrecError):
        browser_text(PROBE, {"value": value, "text": ""})


@pytest.mark.parametrize("value", [
    -5, -(2**63), -0.0, -1.5e-300, 5e-324, 1e16, "a\"b'c\\d`e\n\r\t\b\f\x00\x7f\u2028é😀",
    {"": 1, "`": 2, "x` }) MATCH (n) DETACH DELETE n //": [None, True, -2]}, [[], {}]])
def test_edge_values_round_trip(store, value):
    check_round_trip(store, PROBE, {"value": value, "text": ""})


def test_injection_through_a_map_key_stays_a_key(store, neo4j_settings, dataset_name):
    """The issue's example: a map key that closes its backticks and adds a DETACH DELETE.
    The :param line and the editor text of the real query keep it one key of one map, and
    nothing is deleted."""
    store.run_text("CREATE (:Canary {dataset: $d})", d=dataset_name)
    key = "x` }) MATCH (n) DETACH DELETE n //"
    out = run_cli(["-d", dataset_name, "explore", "item_neighbourhood", "--browser",
                   "--param", "hops=" + json.dumps({key: 1})], neo4j_settings)
    assert out.exit_code == 0, out.output
    line = next(line for line in out.output.splitlines() if line.startswith(":param hops => "))
    literal = line.removeprefix(":param hops => ")
    assert store.run_text(f"RETURN {literal} AS hops") == [{"hops": {key: 1}}]
    q = get_query("item_neighbourhood")
    params = q.params(dataset_name, {"hops": json.dumps({key: 1})})
    # Neo4j reads the whole literal as the one map toInteger() is given (a map there is a
    # type error at compile time), not as a map cut short followed by a clause.
    with pytest.raises(neo4j.exceptions.CypherSyntaxError, match="but was Map"):
        store.run_text(browser_text(q, params))
    assert store.run_text("MATCH (c:Canary {dataset: $d}) RETURN count(c) AS n",
                          d=dataset_name) == [{"n": 1}]
    store.run_text("MATCH (c:Canary {dataset: $d}) DELETE c", d=dataset_name)
