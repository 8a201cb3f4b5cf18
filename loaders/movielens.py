"""MovieLens 100K: ``u.data`` (user, item, rating, timestamp, tab-separated), ``u.item``
(pipe-separated, latin-1, with 19 genre flags) and optionally a posters folder with
``ml100k_item_to_ml1m_poster.csv`` mapping items to poster images."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from loaders.canonical import Catalogue, make_interactions, make_items, users_from
from loaders.table import TS_MAX, TS_MIN, check_range, read_table, require_file, to_number
from mllmrec.errors import InputDataError

_GENRES = ["unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime",
           "Documentary", "Drama", "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery",
           "Romance", "Sci-Fi", "Thriller", "War", "Western"]
_ITEM_COLS = ["item_id", "title", "release_date", "video_release", "imdb_url", *_GENRES]


def load_movielens(folder: str | Path, posters: str | Path | None = None) -> Catalogue:
    """Load an ML-100K folder; ``posters`` is a folder holding
    ``ml100k_item_to_ml1m_poster.csv`` and the images it names."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InputDataError(folder, "MovieLens folder not found")
    data = read_table(folder / "u.data", sep="\t", names=["user_id", "item_id", "rating", "ts"])
    for col in ("user_id", "item_id"):
        to_number(data, col, "int")
    data["rating"] = to_number(data, "rating")
    data["ts"] = to_number(data, "ts", "int")
    check_range(data, "ts", data["ts"], TS_MIN, TS_MAX, "timestamp (Unix seconds, 1900-2100)")
    items = read_table(folder / "u.item", sep="|", names=_ITEM_COLS, encoding="latin-1")
    to_number(items, "item_id", "int")
    flags = items[_GENRES].apply(lambda c: to_number(items, c.name, "int"))
    items["category"] = [
        ", ".join(g for g, on in zip(_GENRES, row) if on == 1 and g != "unknown") or None
        for row in flags.itertuples(index=False)
    ]
    items["description"] = [
        f"Movie released {d}." if d else None for d in items["release_date"].str.strip()
    ]
    if posters is not None:
        items = items.merge(_poster_map(Path(posters)), on="item_id", how="left")
    unknown = ~data["item_id"].isin(items["item_id"])
    if unknown.any():
        row = data[unknown].iloc[0]
        raise InputDataError(row["_file"], f"item '{row['item_id']}' is not in u.item",
                             line=int(row["_line"]), field="item_id")
    inter = make_interactions(data)
    return Catalogue(
        users=users_from(inter), items=make_items(items), interactions=inter,
        domain="movies", source=str(folder),
        meta={"format": "movielens", "posters": str(posters or "")},
    )


def _poster_map(folder: Path) -> pd.DataFrame:
    mapping = read_table(require_file(folder / "ml100k_item_to_ml1m_poster.csv"), sep=",",
                         header=True, required=["ml100k_item_id", "poster_file"])
    to_number(mapping, "ml100k_item_id", "int")
    have = mapping["poster_file"].str.strip() != ""
    mapping = mapping[have]
    return pd.DataFrame({
        "item_id": mapping["ml100k_item_id"].str.strip(),
        "image": [str((folder / p).resolve()) for p in mapping["poster_file"].str.strip()],
    })
