"""Shared state of the operating tests (pipeline, retrain, explore): the synthetic MovieLens
dataset (``tests/synthetic.py``) minus its last 5% of interactions by timestamp, run through
the whole pipeline (``pipeline run --source movielens``) once per session.

The expensive part (enrichment, graph build, two training epochs) is done once; pytest would
build a session fixture once per module that declares it, so the result is memoised here and
each module's fixture calls :func:`processed_dataset`.
"""
from __future__ import annotations

import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from mllmrec.config import Neo4jSettings, Settings
from mllmrec.db import Store
from tests.conftest import run_cli
from tests.synthetic import SyntheticMovieLens

EPOCHS = "2"


@dataclass
class Processed:
    """The dataset after the first pipeline run, and the raw data it came from."""

    name: str
    folder: Path  # the 95% copy of the source
    source: Path  # the whole source folder (u.data, u.item)
    posters: Path
    runs_dir: Path
    raw: pd.DataFrame  # every u.data row (user, item, rating, ts), file order
    first: pd.DataFrame  # the 95% ingested first
    output: str  # what `pipeline run` printed

    def settings(self, neo4j: Neo4jSettings) -> Settings:
        s = Settings(dataset=self.name, neo4j=neo4j)
        s.train.runs_dir = self.runs_dir
        s.train.epochs = int(EPOCHS)
        s.enrich.no_llm = True  # as the CLI runs of these tests
        return s

    def cli(self, *args: str) -> list[str]:
        """Arguments of a CLI call on this dataset (runs kept in this session's folder)."""
        return ["-d", self.name, *args]


def read_raw(folder: Path) -> pd.DataFrame:
    """u.data read with pandas only (no project code)."""
    return pd.read_csv(folder / "u.data", sep="\t", names=["user", "item", "rating", "ts"],
                       dtype={"user": str, "item": str})


def first_part(raw: pd.DataFrame, share: float = 0.95) -> pd.DataFrame:
    """The earliest ``share`` of interactions by timestamp (ties kept in file order)."""
    ordered = raw.sort_values("ts", kind="stable")
    return ordered.iloc[: int(len(raw) * share)]


_CACHE: dict[str, Processed] = {}


def processed_dataset(store: Store, neo4j: Neo4jSettings, source: SyntheticMovieLens,
                      tmp_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Processed:
    if "ml95" in _CACHE:
        return _CACHE["ml95"]
    from mllmrec.dataset import drop_dataset

    root = tmp_factory.mktemp("ops")
    folder = root / "ml95"
    folder.mkdir()
    shutil.copy(source.folder / "u.item", folder / "u.item")
    raw = read_raw(source.folder)
    first = first_part(raw)
    first.to_csv(folder / "u.data", sep="\t", header=False, index=False)
    name = f"ops-{uuid.uuid4().hex[:8]}"
    request.addfinalizer(lambda: drop_dataset(store, name))
    runs = root / "runs"
    result = run_cli(["-d", name, "pipeline", "run", "--source", "movielens", str(folder),
                      "--posters", str(source.posters), "--no-llm", "--epochs", EPOCHS,
                      "--set", f"train.runs_dir={runs}"], neo4j)
    assert result.exit_code == 0, result.output + repr(result.exception)
    _CACHE["ml95"] = Processed(name, folder, source.folder, source.posters, runs, raw, first,
                               result.output)
    return _CACHE["ml95"]
