"""``mllmrec explore``: the Neo4j Browser queries of ``cypher/explore/``, listed and runnable.

Each file starts with a comment line saying what it shows, then one ``// :param name => value``
line per parameter: pasted into Browser, those lines are the ``:param`` commands to run first
(without the ``//``); here they are the defaults, overridden by ``--param name=value``. Queries
meant for Browser's graph view say so with a ``// view: graph`` line; ``run_graph`` returns
their nodes and relationships.
``browser_link`` turns a query and its parameters into a Browser URL whose editor is pre-filled
with the query (Browser's ``?cmd=edit&arg=...``), so one click and one Run show the graph view.
Every value written into text for Browser (the editor, the ``:param`` lines, ``--show``) goes
through one writer, ``cypher_literal``, which writes it as inert literal text or refuses it.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from importlib import resources
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import neo4j
import yaml

from mllmrec.config import Neo4jSettings
from mllmrec.cypher import query
from mllmrec.db import Store, bolt_params
from mllmrec.errors import MllmrecError

_PARAM = re.compile(r"^//\s*:param\s+(\w+)\s*=>\s*(.+?)\s*;?\s*$")
_GRAPH_VIEW = "// view: graph"
_PARAM_USE = re.compile(r"\$(\w+)")


@dataclass
class ExploreQuery:
    name: str
    summary: str
    defaults: dict[str, Any]
    text: str
    graph_view: bool

    def params(self, dataset: str, overrides: dict[str, str]) -> dict[str, Any]:
        """Defaults, the current dataset, then ``--param`` values (typed like the default:
        ids stay strings even when they look like numbers)."""
        unknown = set(overrides) - set(self.defaults)
        if unknown:
            raise MllmrecError(f"query '{self.name}' has no parameter(s) {sorted(unknown)}; "
                               f"it takes: {', '.join(self.defaults)}")
        out = dict(self.defaults)
        if "dataset" in out:
            out["dataset"] = dataset
        for key, raw in overrides.items():
            out[key] = raw if isinstance(self.defaults[key], str) else _literal(raw)
        return out


def _literal(raw: str) -> Any:
    try:
        return yaml.safe_load(raw)
    except yaml.YAMLError:
        return raw


def _parse(name: str, text: str) -> ExploreQuery:
    lines = text.splitlines()
    if not lines or not lines[0].startswith("//"):
        raise MllmrecError(f"cypher/explore/{name}.cypher must start with a comment line")
    defaults = {m.group(1): _literal(m.group(2)) for m in map(_PARAM.match, lines) if m}
    return ExploreQuery(name, lines[0].lstrip("/ ").strip(), defaults, text,
                        graph_view=any(line.strip() == _GRAPH_VIEW for line in lines))


def list_queries() -> list[ExploreQuery]:
    """Every explore query, by name."""
    folder = resources.files("cypher") / "explore"
    names = sorted(p.name[: -len(".cypher")] for p in folder.iterdir() if p.name.endswith(".cypher"))
    return [_parse(n, query(f"explore/{n}")) for n in names]


def get_query(name: str) -> ExploreQuery:
    for q in list_queries():
        if q.name == name:
            return q
    known = ", ".join(q.name for q in list_queries())
    raise MllmrecError(f"no explore query named '{name}'; known: {known}")


def run_explore(store: Store, name: str, dataset: str,
                overrides: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """Run one explore query with its defaults, the dataset and overrides; rows as dicts."""
    q = get_query(name)
    return store.run(f"explore/{name}", **q.params(dataset, overrides or {}))


def run_graph(store: Store, name: str, dataset: str,
              overrides: dict[str, str] | None = None) -> neo4j.graph.Graph:
    """Run one explore query and return what Browser's graph view draws: every node and
    relationship in its results (also inside lists and paths), each once."""
    q = get_query(name)
    return store.driver.execute_query(q.text, parameters_=bolt_params(q.params(dataset, overrides or {})),
                                      database_=store.database,
                                      result_transformer_=neo4j.Result.graph)


def caption(node: neo4j.graph.Node) -> str:
    """How the project's Browser style labels a node: an item's title, a user's id."""
    if "User" in node.labels:
        return f"user {node.get('id')}"
    return str(node.get("title") or node.get("id") or node.element_id)


@dataclass
class BrowserLink:
    """A Neo4j Browser URL whose editor holds ``editor`` (the query with these parameter
    values written in), and the ``:param`` lines that set the same values for the file's own
    ``$parameter`` text (``mllmrec explore NAME --show``)."""

    url: str
    param_lines: list[str]
    editor: str


def style_command() -> str:
    """Browser's ``:style`` command with the project's GraSS style (``mllmrec/ops/mllmrec.grass``:
    a colour per label, captions from ``title`` / ``id``, edge captions from ``jaccard`` /
    ``cosine`` / ``rating``); run once, Browser keeps the style."""
    grass = (resources.files("mllmrec.ops") / "mllmrec.grass").read_text(encoding="utf-8")
    return ":style " + grass.strip()


#: Escapes inside a double-quoted Cypher string; other characters that are not printable are
#: written as ``\uXXXX`` (UTF-16 code units: Cypher has no 8-digit ``\U`` escape).
_STRING_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t",
                   "\b": "\\b", "\f": "\\f"}
_INT64 = range(-(2**63), 2**63)


def cypher_literal(value: Any) -> str:
    """A parameter value as Cypher literal text: what ``--browser`` writes into the editor and
    what the ``:param`` lines and ``--show`` print. The text is one line, evaluates to exactly
    ``value`` and holds no code: strings are double-quoted with quotes, backslashes and every
    character that is not printable escaped (so no line break ends a ``//`` comment around it);
    map keys are backtick-quoted with a backtick inside doubled; negative numbers are
    parenthesised (``$x^2`` stays ``(-5)^2``). MllmrecError for what has no such literal:
    NaN and infinities, integers beyond 64 bits, strings with lone surrogates, map keys that
    are not strings or hold a line break or other character that is not printable (a
    backtick-quoted name cannot escape it) or a backslash (Neo4j reads ``\\uXXXX`` escapes in
    backtick-quoted names), and any other type."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        if value not in _INT64:
            raise MllmrecError(f"parameter value {value} does not fit a 64-bit Cypher integer")
        return f"({value})" if value < 0 else str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise MllmrecError(f"parameter value {value} has no Cypher literal: give a finite number")
        text = repr(value)
        return f"({text})" if text.startswith("-") else text
    if isinstance(value, str):
        return _string_literal(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(cypher_literal(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_map_key(k)}: {cypher_literal(v)}" for k, v in value.items()) + "}"
    raise MllmrecError(f"cannot write parameter value {value!r} as a Cypher literal: use null, "
                       "booleans, numbers, strings, lists and maps")


def _string_literal(text: str) -> str:
    out = []
    for ch in text:
        if ch in _STRING_ESCAPES:
            out.append(_STRING_ESCAPES[ch])
        elif ch.isprintable():
            out.append(ch)
        elif 0xD800 <= ord(ch) <= 0xDFFF:
            raise MllmrecError(f"parameter string {text!r} holds a lone surrogate, not text")
        else:
            units = ch.encode("utf-16-be")
            out.extend(f"\\u{int.from_bytes(units[i:i + 2], 'big'):04x}" for i in range(0, len(units), 2))
    return '"' + "".join(out) + '"'


def _map_key(key: Any) -> str:
    if not isinstance(key, str):
        raise MllmrecError(f"map key {key!r} is not a string (Cypher map keys are names)")
    if not key.isprintable():
        raise MllmrecError(f"map key {key!r} holds a line break or another character that is "
                           "not printable, which a backtick-quoted Cypher name cannot escape")
    if "\\" in key:
        raise MllmrecError(f"map key {key!r} holds a backslash: Neo4j reads \\uXXXX escapes "
                           "inside a backtick-quoted name, so it cannot be written as itself")
    return "`" + key.replace("`", "``") + "`"


def browser_text(q: ExploreQuery, params: dict[str, Any]) -> str:
    """The query as Browser's editor gets it from ``--browser``: each ``$name`` outside
    comments replaced by its value as a Cypher literal (``cypher_literal`` escapes strings),
    the ``// :param`` lines replaced by one line naming the values.

    Why not parameters: Browser's URL can only pre-fill the editor, and a ``:params ...;``
    line before the query makes it a multi-statement run, whose frame shows a status line per
    statement and no graph view (checked in Browser 5.24). This text is for a person to run
    in Browser; the project itself always sends the file's text with parameters."""
    def literal(match: re.Match[str]) -> str:
        if match.group(1) not in params:
            raise MllmrecError(f"query '{q.name}' uses ${match.group(1)} but declares no default")
        return cypher_literal(params[match.group(1)])

    given = ", ".join(f"{k} = {cypher_literal(v)}" for k, v in params.items())
    lines = [f"// {q.summary}", f"// mllmrec explore {q.name}: {given}"]
    for line in q.text.splitlines()[1:]:
        if _PARAM.match(line) or line.strip() == _GRAPH_VIEW:
            continue
        code, sep, comment = line.partition("//")
        lines.append(_PARAM_USE.sub(literal, code) + sep + comment)
    return "\n".join(lines).rstrip()


def show_text(q: ExploreQuery, params: dict[str, Any]) -> str:
    """The query file as ``--show`` prints it: its own ``$parameter`` text, and its
    ``// :param`` lines giving the values of this call (defaults, the dataset, ``--param``)."""
    def value_line(line: str) -> str:
        match = _PARAM.match(line)
        return f"// :param {match.group(1)} => {cypher_literal(params[match.group(1)])}" if match else line

    return "\n".join(value_line(line) for line in q.text.splitlines())


def browser_link(q: ExploreQuery, params: dict[str, Any], neo4j: Neo4jSettings) -> BrowserLink:
    """The Browser URL of the server in ``neo4j`` (host of its Bolt URI, ``http_port``) that
    pre-fills the connection form (Bolt URI, user, database) and the editor with
    ``browser_text``: log in, press Run, the graph view (or table) shows."""
    editor = browser_text(q, params)
    return BrowserLink(url=browser_url(neo4j, editor), editor=editor,
                       param_lines=[f":param {k} => {cypher_literal(v)}" for k, v in params.items()])


def browser_url(neo4j: Neo4jSettings, editor: str) -> str:
    """Browser of the server in ``neo4j`` (host of its Bolt URI, ``http_port``) with the
    connection form filled in (Bolt URI, user, database) and ``editor`` in the editor."""
    bolt = urlsplit(neo4j.uri)
    host = bolt.hostname or "127.0.0.1"
    dbms = f"{bolt.scheme}://{neo4j.user}@{host}:{bolt.port or neo4j.bolt_port}"
    # quote, not quote_plus: Browser decodes with decodeURIComponent, which keeps '+'.
    query_string = urlencode({"dbms": dbms, "db": neo4j.database, "cmd": "edit", "arg": editor},
                             quote_via=quote)
    return f"http://{host}:{neo4j.http_port}/browser/?{query_string}"
