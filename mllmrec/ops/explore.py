"""``mllmrec explore``: the Neo4j Browser queries of ``cypher/explore/``, listed and runnable.

Each file starts with a comment line saying what it shows, then one ``// :param name => value``
line per parameter: pasted into Browser, those lines are the ``:param`` commands to run first
(without the ``//``); here they are the defaults, overridden by ``--param name=value``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from typing import Any

import yaml

from mllmrec.cypher import query
from mllmrec.db import Graph
from mllmrec.errors import MllmrecError

_PARAM = re.compile(r"^//\s*:param\s+(\w+)\s*=>\s*(.+?)\s*;?\s*$")


@dataclass
class ExploreQuery:
    name: str
    summary: str
    defaults: dict[str, Any]
    text: str

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
    return ExploreQuery(name, lines[0].lstrip("/ ").strip(), defaults, text)


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


def run_explore(graph: Graph, name: str, dataset: str,
                overrides: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """Run one explore query with its defaults, the dataset and overrides; rows as dicts."""
    q = get_query(name)
    return graph.run(f"explore/{name}", **q.params(dataset, overrides or {}))
