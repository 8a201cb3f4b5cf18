"""What a section of ``python -m bench`` gets: the options, the settings every benchmark
starts from, the database, and the run file it adds its results to (saved after each
section, and by long sections after each training run, so a stopped run keeps what it
measured). Sections that reuse another's training runs find them here too."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bench.options import Options, key
from bench.results import write_json
from bench.train_runs import Aggregate, TrainResult, repeat
from mllmrec.config import Settings
from mllmrec.db import Store


@dataclass
class Context:
    options: Options
    settings: Settings
    doc: dict[str, Any]  # the run file (bench.results.write_json)
    store_: Store | None = None
    #: The stage table's MLLMRec run (the first seed of quality, protocol and ablation).
    first: TrainResult | None = None
    #: MLLMRec's default configuration with every seed, once a section has trained it.
    mllmrec: Aggregate | None = None

    @property
    def store(self) -> Store:
        """The benchmark server's connection (sections that run without Neo4j never ask)."""
        if self.store_ is None:
            raise RuntimeError("this section needs Neo4j but the run has no server")
        return self.store_

    def save(self, section: str, value: Any) -> None:
        """Put ``section``'s (possibly partial) result into the run file and save it."""
        self.doc[key(section)] = value
        write_json(self.doc, self.options.results_dir)

    def keeper(self, section: str, **extra: Any) -> Callable[[dict[str, Any]], None]:
        """A callback storing ``section``'s partial results (with ``extra`` keys) as they come."""
        def save_partial(partial: dict[str, Any]) -> None:
            self.save(section, {**extra, **partial})
        return save_partial

    def default_mllmrec(self) -> Aggregate:
        """The default MLLMRec on the bench dataset with every seed, trained once per run by
        the first section that asks (reusing the stages section's first seed)."""
        if self.mllmrec is None:
            self.mllmrec = repeat(self.store, self.settings.with_overrides({"train.model": "mllmrec"}),
                                  self.options.seeds, first=self.first)
        return self.mllmrec
