"""State shared by the CLI commands: settings (layered) and a lazily opened database."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click

from mllmrec.config import Settings, load_settings
from mllmrec.db import Store, connect


class AppContext:
    """Loads settings once, applies each command's flags, opens Neo4j on first use."""

    def __init__(self, config_file: str | None = None, dataset: str | None = None) -> None:
        self.config_file = config_file
        self._base = load_settings(config_file, {"dataset": dataset})
        self.settings: Settings = self._base
        self._graph: Store | None = None
        self.dedupe = False  # ingest --dedupe, read by the format subcommands

    def apply(self, overrides: dict[str, Any]) -> Settings:
        """Apply a command's flags (dotted keys; None = not given) on top of the config."""
        self.settings = self._base.with_overrides(overrides)
        return self.settings

    @property
    def store(self) -> Store:
        if self._graph is None:
            self._graph = connect(self.settings.neo4j)
        return self._graph

    @contextmanager
    def lock(self, purpose: str) -> Iterator[None]:
        """Hold the dataset's lock (:mod:`mllmrec.ops.lock`) around a writing command; a busy
        lock stops the command with a message naming its holder."""
        from mllmrec.ops.lock import dataset_lock

        with dataset_lock(self.store, self.settings.dataset, purpose=purpose):
            yield

    def close(self) -> None:
        if self._graph is not None:
            self._graph.close()
            self._graph = None


pass_app = click.make_pass_decorator(AppContext)
