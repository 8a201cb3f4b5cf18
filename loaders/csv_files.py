"""Generic CSV: an interactions file (user, item, optional rating, timestamp and split) and an
optional items file (id, title, brand, category, description, other text columns, image).

Columns are found by name, case- and punctuation-insensitively, under common aliases
(``user_id``/``userId``/``reviewerID``, ``item_id``/``itemId``/``asin``, RecBole's
``user_id:token``...). The delimiter (comma, tab, semicolon or pipe) is taken from the header
line. Timestamps are Unix seconds (values above 1e11 are read as milliseconds) or dates.
"""
from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from loaders.canonical import Catalogue, make_interactions, make_items, users_from
from loaders.table import TS_MAX, TS_MIN, check_range, open_text, read_table, require_file, to_number
from mllmrec.errors import InputDataError

INTERACTION_ROLES: dict[str, tuple[str, ...]] = {
    "user_id": ("user", "userid", "uid", "reviewerid", "customerid", "visitorid"),
    "item_id": ("item", "itemid", "iid", "asin", "parentasin", "productid", "movieid"),
    "rating": ("rating", "score", "overall", "stars"),
    "ts": ("timestamp", "ts", "time", "unixreviewtime", "datetime", "date"),
    "split": ("split", "xlabel"),
}
ITEM_ROLES: dict[str, tuple[str, ...]] = {
    "item_id": ("id", "item", "itemid", "iid", "asin", "parentasin", "productid", "movieid"),
    "title": ("title", "name", "itemname", "productname", "movietitle"),
    "brand": ("brand", "store", "manufacturer"),
    "category": ("category", "categories", "genre", "genres", "maincategory"),
    "description": ("description", "desc", "overview", "plot", "summary"),
    "image": ("image", "imageurl", "imagepath", "img", "imurl", "poster", "picture", "photo",
              "cover", "thumbnail"),
}
SPLIT_NAMES = {"0": 0, "1": 1, "2": 2, "train": 0, "training": 0, "valid": 1,
               "validation": 1, "val": 1, "dev": 1, "test": 2, "testing": 2}
_MS_THRESHOLD = 1e11  # Unix seconds reach 1e11 only in the year 5138


def normalise(name: str) -> str:
    """Column name for alias matching: RecBole type suffix dropped, lower case, letters
    and digits only (``User_ID:token`` -> ``userid``)."""
    return re.sub(r"[^a-z0-9]", "", name.split(":")[0].lower())


def sniff_separator(path: Path) -> str:
    """The most frequent of comma, tab, semicolon and pipe on the header line."""
    with open_text(path, errors="replace") as f:
        header = f.readline()
    counts = {sep: header.count(sep) for sep in (",", "\t", ";", "|")}
    return max(counts, key=lambda sep: counts[sep]) if max(counts.values()) else ","


def find_columns(df: pd.DataFrame, path: Path, roles: Mapping[str, Sequence[str]],
                 required: Sequence[str]) -> dict[str, str]:
    """Map each role to the one column named by one of its aliases. A missing required
    role, or a role named by two columns, is an error on line 1 naming the role."""
    found: dict[str, str] = {}
    columns = [c for c in df.columns if c not in ("_file", "_line")]
    for role, aliases in roles.items():
        hits = [c for c in columns if normalise(c) in aliases]
        if len(hits) > 1:
            raise InputDataError(path, f"columns {', '.join(hits)} all look like '{role}'; "
                                 "rename all but one", line=1, field=role)
        if hits:
            found[role] = hits[0]
        elif role in required:
            raise InputDataError(
                path, f"missing column '{role}' (accepted names: {', '.join(aliases)}); "
                f"found {', '.join(columns)}", line=1, field=role)
    return found


def parse_timestamps(df: pd.DataFrame, col: str) -> pd.Series:
    """Unix seconds (Int64, <NA> when empty) from numbers (seconds, or milliseconds above
    1e11) or date strings; the first unparsable value is an error naming its line."""
    raw = df[col].astype(str).str.strip()
    present = raw != ""
    numeric = pd.to_numeric(raw.where(present, None), errors="coerce")
    if numeric[present].notna().all():
        values = to_number(df, col, "float", optional=True)
        if values.max(skipna=True) > _MS_THRESHOLD:
            values = values // 1000
        check_range(df, col, values, TS_MIN, TS_MAX, "timestamp (Unix seconds, 1900-2100)")
        return values.round().astype("Int64")
    dates = pd.to_datetime(raw.where(present, None), errors="coerce", utc=True, format="mixed")
    bad = present & dates.isna()
    if numeric[present].notna().any():  # mostly numbers: the odd value out is the error
        bad = present & numeric.isna()
    if bad.any():
        row = df[bad].iloc[0]
        raise InputDataError(row["_file"], f"expected Unix seconds or a date, got '{row[col]}'",
                             line=int(row["_line"]), field=col)
    seconds = (dates - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(seconds=1)
    return seconds.astype("Int64")


def parse_split(df: pd.DataFrame, col: str) -> pd.Series:
    """Split labels 0/1/2 from 0/1/2 or train/valid/test names."""
    labels = df[col].astype(str).str.strip().str.lower().map(SPLIT_NAMES)
    bad = labels.isna()
    if bad.any():
        row = df[bad].iloc[0]
        raise InputDataError(row["_file"], f"split must be 0/1/2 or train/valid/test, got "
                             f"'{row[col]}'", line=int(row["_line"]), field=col)
    return labels.astype("Int8")


def read_interactions(path: str | Path, sep: str | None = None,
                      require_split: bool = False) -> pd.DataFrame:
    """Interactions with a header, as a canonical interaction frame (with ``_file``/``_line``)."""
    path = require_file(path)
    df = read_table(path, sep=sep or sniff_separator(path), header=True)
    cols = find_columns(df, path, INTERACTION_ROLES,
                        ("user_id", "item_id", "split") if require_split else ("user_id", "item_id"))
    out = pd.DataFrame({"user_id": df[cols["user_id"]].str.strip(),
                        "item_id": df[cols["item_id"]].str.strip(),
                        "_file": df["_file"], "_line": df["_line"]})
    if "rating" in cols:
        out["rating"] = to_number(df, cols["rating"])
    if "ts" in cols:
        out["ts"] = parse_timestamps(df, cols["ts"])
    if "split" in cols:
        out["split"] = parse_split(df, cols["split"])
    return make_interactions(out)


def read_items(path: str | Path) -> pd.DataFrame:
    """An items file as a canonical item frame. Columns that are none of the canonical
    fields are appended to the description as ``column: value`` so their text is kept;
    relative image paths are resolved against the file's folder."""
    path = require_file(path)
    df = read_table(path, sep=sniff_separator(path), header=True)
    cols = find_columns(df, path, ITEM_ROLES, ("item_id",))
    out = pd.DataFrame({role: df[col].str.strip() for role, col in cols.items()})
    used = set(cols.values()) | {"_file", "_line"}
    extra = [c for c in df.columns if c not in used]
    if extra:
        parts = pd.DataFrame({c: np.where(df[c].str.strip() != "", c + ": " + df[c].str.strip(), "")
                              for c in extra})
        if "description" in out:
            parts.insert(0, "_d", out["description"].fillna(""))
        out["description"] = ["; ".join(p for p in row if p) for row in parts.itertuples(index=False)]
    if "image" in out:
        out["image"] = [_resolve_image(v, path.parent) for v in out["image"]]
    empty = out["item_id"] == ""
    if empty.any():
        raise InputDataError(path, "empty item id", line=int(df.loc[empty, "_line"].iloc[0]),
                             field=cols["item_id"])
    out["_file"], out["_line"] = df["_file"], df["_line"]
    return make_items(out)


def _resolve_image(value: str | None, folder: Path) -> str | None:
    if not value:
        return None
    if "://" in value or value.startswith("data:") or Path(value).is_absolute():
        return value
    return str((folder / value).resolve())


def load_csv(interactions: str | Path, items: str | Path | None = None,
             domain: str = "products") -> Catalogue:
    """Load a generic interactions CSV (and items CSV). A split column, if present, is kept."""
    inter = read_interactions(interactions)
    item_frame = read_items(items) if items is not None else make_items(
        pd.DataFrame({"item_id": pd.unique(inter["item_id"])}))
    return Catalogue(users=users_from(inter), items=item_frame, interactions=inter,
                     domain=domain, source=str(interactions),
                     meta={"format": "csv", "items": str(items or "")},
                     item_metadata=items is not None)
