"""Versioned prompt files: ``prompts/<task>.<version>.txt`` with ``{placeholders}``.

A prompt's version is part of each output's provenance, so changing a prompt means adding a
new file (``describe_item.v2.txt``) and running with ``--prompt-version v2``; outputs of the
old version are then produced again, never silently mixed.
"""
from __future__ import annotations

from functools import cache
from importlib import resources

from mllmrec.errors import ConfigError


@cache
def load_prompt(task: str, version: str) -> str:
    """Text of prompts/<task>.<version>.txt; ConfigError naming the versions that exist."""
    folder = resources.files("mllmrec.enrich") / "prompts"
    node = folder / f"{task}.{version}.txt"
    if not node.is_file():
        known = sorted(p.name for p in folder.iterdir() if p.name.startswith(f"{task}."))
        raise ConfigError(f"no prompt '{task}' version '{version}' "
                          f"(available: {', '.join(known) or 'none'})")
    return node.read_text(encoding="utf-8").strip()


def render(task: str, version: str, **values: str) -> str:
    """The prompt with its placeholders filled in."""
    return load_prompt(task, version).format_map(values)
