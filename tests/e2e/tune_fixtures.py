"""The tuning tests' dataset: a tiny synthetic catalogue (``bench/synthetic.py``) through the
real ingest, with the generator's embeddings stored by the embed stage's queries, and settings
for fast, deterministic trials. Import the fixture with ``from tests.e2e.tune_fixtures import
tiny``."""
from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.loading import ingest, store_synthetic_embeddings
from bench.synthetic import make_synthetic
from mllmrec.config import Neo4jSettings, Settings
from mllmrec.dataset import drop_dataset
from mllmrec.db import Store

GOOD, BAD = 0.02, 1e-7  # Adam learning rates: learns in 2 epochs / never moves


def tiny_dataset(store: Store, neo4j: Neo4jSettings, tmp_path: Path) -> Settings:
    """A fresh tiny synthetic dataset (120 users, 90 items, ~2,400 interactions, topics in
    the embeddings and in the users' choices) and settings for fast, deterministic trials."""
    name = f"t-tune-{uuid.uuid4().hex[:8]}"
    s = Settings(dataset=name, neo4j=neo4j)
    s.train.runs_dir = tmp_path / "runs"
    syn = make_synthetic(2_400, seed=5, n_users=120, n_items=90, min_per_user=12, in_topic=0.9)
    prepared, _ = ingest(store, s, syn.catalogue)
    store_synthetic_embeddings(store, name, syn, prepared)
    return s.with_overrides({
        "train.device": "cpu", "train.threads": 1, "train.deterministic": True,
        "train.batch_size": 256, "train.dim": 16,
        "graph.knn_jac": 5, "graph.pure": 0.3,
        "tune.epochs": 4, "tune.patience": 2, "tune.pruner": "median", "tune.startup_trials": 2,
        "tune.warmup_epochs": 1, "tune.n_trials": 6, "tune.seed": 3,
        "tune.space": {"model": {"choices": ["mllmrec", "bpr"]},
                       "lr": {"choices": [GOOD, 0.01, BAD]},
                       "knn_k": {"choices": [3, 6]}}})


@pytest.fixture
def tiny(store: Store, neo4j_settings: Neo4jSettings, tmp_path: Path) -> Iterator[Settings]:
    """The tiny dataset of :func:`tiny_dataset`, dropped after the test."""
    s = tiny_dataset(store, neo4j_settings, tmp_path)
    try:
        yield s
    finally:
        drop_dataset(store, s.dataset)
