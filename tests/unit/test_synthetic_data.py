"""The synthetic MovieLens dataset the end-to-end tests run on: the same seed writes the same
files, the files load through the real MovieLens loader, and the shape the tests rely on
holds (checked with pandas on the written files, not with the generator's own frames)."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from loaders.movielens import load_movielens
from mllmrec.preprocess import kcore
from tests.synthetic import write_movielens


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_same_seed_same_files_other_seed_other_data(tmp_path):
    a = write_movielens(tmp_path / "a", seed=3, n_users=40, n_items=60, n_late=4)
    write_movielens(tmp_path / "b", seed=3, n_users=40, n_items=60, n_late=4)
    c = write_movielens(tmp_path / "c", seed=4, n_users=40, n_items=60, n_late=4)
    assert _files(tmp_path / "a") == _files(tmp_path / "b")
    assert (a.folder / "u.data").read_bytes() != (c.folder / "u.data").read_bytes()


def test_files_have_the_shape_the_tests_rely_on(tmp_path):
    data = write_movielens(tmp_path, seed=0)
    raw = pd.read_csv(data.folder / "u.data", sep="\t", names=["user", "item", "rating", "ts"],
                      dtype={"user": str, "item": str})
    items = pd.read_csv(data.folder / "u.item", sep="|", header=None, encoding="latin-1", dtype=str)
    assert 100 <= raw["user"].nunique() <= 500 and 100 <= len(items) <= 500
    assert raw["user"].value_counts().min() >= 20  # the 8:1:1 split applies to every user
    assert raw["item"].value_counts().min() >= 5 and set(raw["item"]) == set(items[0])
    assert not raw.duplicated(["user", "item"]).any() and raw["rating"].between(1, 5).all()
    assert items[1].is_unique  # titles identify items in the enrichment tests
    # the earliest 95% by timestamp lacks some items entirely (new items for retraining)
    first = raw.sort_values("ts", kind="stable").iloc[: int(len(raw) * 0.95)]
    assert len(set(raw["item"]) - set(first["item"])) >= 5
    cat = load_movielens(data.folder, data.posters)
    assert len(cat.interactions) == len(raw) and len(cat.items) == len(items)
    assert cat.items["category"].notna().all() and cat.items["image"].map(lambda p: Path(p).is_file()).all()
    assert len(kcore(cat.interactions, 5)) == len(raw)
