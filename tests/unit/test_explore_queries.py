"""The explore queries as text: one definition of the active build across every query that
reads it, parameters declared and used alike, and the Browser URL that `explore --browser`
prints decoding back to exactly the parameters and the query."""
from __future__ import annotations

import re
from importlib import resources
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from mllmrec.config import Neo4jSettings
from mllmrec.cypher import query
from mllmrec.errors import MllmrecError
from mllmrec.ops.explore import (
    browser_link,
    browser_text,
    cypher_literal,
    get_query,
    list_queries,
    show_text,
)

# Files that create a build or flip its status/flags (they address builds by id), and the
# lookup of a build by its parameters (tuning trials train on side builds).
WRITERS = {"graph/start_build", "graph/finish_build", "graph/fail_build", "graph/keep_build",
           "graph/activate_build", "graph/find_build", "schema/init"}
GRAPH_VIEWS = {"user_neighbourhood", "item_neighbourhood", "recommendation_path", "dataset_overview",
               "new_item"}


def _all_queries() -> dict[str, str]:
    root = resources.files("cypher")
    out = {}
    for folder in root.iterdir():
        if folder.is_dir():
            for f in folder.iterdir():
                if f.name.endswith(".cypher"):
                    name = f"{folder.name}/{f.name[:-len('.cypher')]}"
                    out[name] = query(name)
    return out


def test_one_definition_of_the_active_build():
    canonical = next(line.strip() for line in query("graph/active_build").splitlines()
                     if line.startswith("MATCH (build:GraphBuild"))
    readers = {name: text for name, text in _all_queries().items()
               if ":GraphBuild" in text and name not in WRITERS}
    assert {"graph/active_build", "explore/item_neighbours", "explore/why_recommended",
            "explore/user_neighbourhood", "explore/item_neighbourhood"} <= set(readers)
    for name, text in readers.items():
        lines = [line.strip() for line in text.splitlines() if ":GraphBuild" in line]
        assert lines and all(line.removeprefix("OPTIONAL ") == canonical for line in lines), (
            f"cypher/{name}.cypher must find the active build with exactly: {canonical}")
        assert "graph_build" not in text, f"cypher/{name}.cypher uses a run's own build"


@pytest.mark.parametrize("q", list_queries(), ids=lambda q: q.name)
def test_parameters_declared_and_used(q):
    body = "\n".join(line for line in q.text.splitlines() if not line.lstrip().startswith("//"))
    assert set(re.findall(r"\$(\w+)", body)) == set(q.defaults), q.name
    # Browser's multi-statement editor splits on ';' (the --browser URL relies on it).
    assert ";" not in q.text, q.name
    assert q.graph_view == (q.name in GRAPH_VIEWS)


def test_cypher_literals():
    assert cypher_literal("1") == '"1"'
    assert cypher_literal('a "b"\\') == r'"a \"b\"\\"'
    assert cypher_literal(5) == "5" and cypher_literal(0.5) == "0.5"
    assert cypher_literal(True) == "true" and cypher_literal(None) == "null"
    assert cypher_literal(["x", 2]) == '["x", 2]'
    assert cypher_literal({"k": 1}) == "{`k`: 1}"
    assert cypher_literal(-5) == "(-5)" and cypher_literal(-0.5) == "(-0.5)"  # $x^2 is (-5)^2
    assert cypher_literal("a\nb\u2028c\x00é😀") == '"a\\nb\\u2028c\\u0000é😀"'
    for refused in (float("nan"), float("inf"), 2**63, {1: 2}, {"a\nb": 1}, "\udc80"):
        with pytest.raises(MllmrecError):
            cypher_literal(refused)


def test_a_map_key_cannot_close_its_backticks():
    """The issue's injection: ``--param 'hops={"x` }) MATCH (n) DETACH DELETE n //": 1}'``
    put ``MATCH (n) DETACH DELETE n`` into the editor and the :param line as code."""
    key = "x` }) MATCH (n) DETACH DELETE n //"
    q = get_query("item_neighbourhood")
    params = q.params("ml-100k", {"hops": '{"' + key + '": 1}'})
    assert params["hops"] == {key: 1}
    literal = "{`x`` }) MATCH (n) DETACH DELETE n //`: 1}"
    assert cypher_literal(params["hops"]) == literal
    link = browser_link(q, params, Neo4jSettings())
    assert f":param hops => {literal}" in link.param_lines
    assert f"toInteger({literal}) >= 2" in link.editor
    assert f"// :param hops => {literal}" in show_text(q, params).splitlines()


def test_show_prints_the_file_with_the_values_of_the_call():
    q = get_query("user_recommendations")
    shown = show_text(q, q.params("ml-100k", {"user": 'a"b', "k": "3"}))
    assert shown.splitlines()[1:4] == ['// :param dataset => "ml-100k"',
                                       '// :param user => "a\\"b"', "// :param k => 3"]
    assert [line for line in shown.splitlines() if not line.startswith("// :param")] == \
        [line for line in q.text.splitlines() if not line.startswith("// :param")]


def test_browser_link_round_trips():
    neo4j = Neo4jSettings(uri="bolt://db.example:7697", user="alice", http_port=7484,
                          database="movies")
    q = get_query("user_neighbourhood")
    params = q.params('ml "100k"+', {"user": "7", "k": "3"})
    link = browser_link(q, params, neo4j)
    url = urlsplit(link.url)
    assert (url.scheme, url.hostname, url.port, url.path) == ("http", "db.example", 7484, "/browser/")
    assert "+" not in url.query  # '+' would stay a '+' under decodeURIComponent
    raw = dict(pair.split("=", 1) for pair in url.query.split("&"))
    assert unquote(raw["dbms"]) == "bolt://alice@db.example:7697"
    assert unquote(raw["db"]) == "movies" and raw["cmd"] == "edit"
    assert unquote(raw["arg"]) == link.editor
    assert link.param_lines == [':param dataset => "ml \\"100k\\"+"', ':param user => "7"',
                                ":param history => 12", ":param k => 3"]
    assert parse_qs(url.query)["cmd"] == ["edit"]


@pytest.mark.parametrize("q", list_queries(), ids=lambda q: q.name)
def test_browser_text_writes_every_parameter_as_a_literal(q):
    params = q.params("ml-100k", {})
    text = browser_text(q, params)
    code = [line.split("//")[0] for line in text.splitlines()]
    assert not any("$" in line for line in code)
    assert [line for line in code if line.strip()] == [
        re.sub(r"\$(\w+)", lambda m: cypher_literal(params[m.group(1)]), line.split("//")[0])
        for line in q.text.splitlines() if line.split("//")[0].strip()]
    assert text.splitlines()[0] == f"// {q.summary}"
