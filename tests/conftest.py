"""Test fixtures: a real Neo4j server started once per test session (or the server named by
NEO4J_URI), a synthetic MovieLens-format dataset (``tests/synthetic.py``) for every test that
does not need ML-100K's real numbers, the shared MovieLens 100K data for those that do (they
skip without it), and unique dataset names per test."""
from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("DGLBACKEND", "pytorch")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from mllmrec import neo4j_server  # noqa: E402
from mllmrec.config import Neo4jSettings, Settings, load_settings  # noqa: E402
from mllmrec.db import Store, connect  # noqa: E402
from tests.synthetic import SyntheticMovieLens, write_movielens  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
SHARED_DATA = Path(os.environ.get("MLLMREC_DATA", REPO.parent / "shared" / "data"))
ML100K = SHARED_DATA / "ml-100k"
POSTERS = SHARED_DATA / "movielens-posters"


@pytest.fixture(scope="session")
def neo4j_settings() -> Iterator[Neo4jSettings]:
    """Connection settings of the test server: NEO4J_URI's server if set, else a fresh
    local server on free ports in a temporary home, stopped at the end of the session."""
    if os.environ.get("NEO4J_URI"):
        yield load_settings().neo4j
        return
    with neo4j_server.temporary(heap="1g", pagecache="256m") as settings:
        yield settings


@pytest.fixture(scope="session")
def store(neo4j_settings: Neo4jSettings) -> Iterator[Store]:
    g = connect(neo4j_settings)
    try:
        yield g
    finally:
        g.close()


@pytest.fixture
def dataset_name(store: Store) -> Iterator[str]:
    """A dataset name unique to the test, dropped afterwards."""
    from mllmrec.dataset import drop_dataset

    name = f"t-{uuid.uuid4().hex[:10]}"
    yield name
    drop_dataset(store, name)


@pytest.fixture
def settings(neo4j_settings: Neo4jSettings, dataset_name: str, tmp_path: Path) -> Settings:
    """Full settings pointing at the test server and the test's own dataset."""
    s = Settings(dataset=dataset_name, neo4j=neo4j_settings)
    s.train.runs_dir = tmp_path / "runs"
    s.enrich.image_cache = tmp_path / "images"
    return s


@pytest.fixture(scope="session")
def synthetic_movielens(tmp_path_factory: pytest.TempPathFactory) -> SyntheticMovieLens:
    """The synthetic dataset (seed 0: 200 users, 300 items, about 7,900 ratings) written once
    per session as MovieLens 100K files with posters. Tests read the files, never change them."""
    return write_movielens(tmp_path_factory.mktemp("synthetic-movielens"), seed=0)


@pytest.fixture(scope="session")
def ml100k_dataset(store: Store) -> Iterator[str]:
    """MovieLens 100K (with posters) ingested once per session as dataset 'ml100k-session'.
    Tests must not modify it; they read it or copy what they need."""
    if not (ML100K / "u.data").is_file():
        pytest.skip(f"MovieLens 100K not found at {ML100K} (set MLLMREC_DATA)")
    from loaders.movielens import load_movielens
    from mllmrec.config import IngestSettings
    from mllmrec.dataset import drop_dataset
    from mllmrec.ingest import prepare, write

    name = "ml100k-session"
    s = IngestSettings()
    write(store, name, prepare(load_movielens(ML100K, POSTERS), s), s, {"format": "movielens"})
    yield name
    drop_dataset(store, name)


def run_cli(args: list[str], neo4j: Neo4jSettings, env: dict[str, str] | None = None):
    """Invoke the CLI in-process against the test server; returns click's Result."""
    from click.testing import CliRunner

    from mllmrec.cli import _register, cli

    _register()
    full_env = {"NEO4J_URI": neo4j.uri, "NEO4J_USER": neo4j.user,
                "MLLMREC_NEO4J_HOME": str(neo4j.home), **(env or {})}
    if neo4j.password:
        full_env["NEO4J_PASSWORD"] = neo4j.password
    return CliRunner().invoke(cli, args, env=full_env, catch_exceptions=True)
