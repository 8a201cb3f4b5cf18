"""The canonical frames every loader returns, and their validation.

A loader turns one source format into a :class:`Catalogue` of three pandas frames:

- ``users``: ``user_id`` (str)
- ``items``: ``item_id`` (str), ``title``, ``brand``, ``category`` (the first category path,
  e.g. "Sports & Outdoors > Cycling"), ``description``, ``image`` (local path or URL); text
  columns are str or None
- ``interactions``: ``user_id``, ``item_id`` (str), ``rating`` (float, NaN if absent),
  ``ts`` (Int64 seconds, <NA> if absent), ``split`` (Int8 0/1/2, <NA> when the source has none)

plus the dataset's ``domain`` (used in LLM prompts) and where it came from. Row provenance
(``_file``, ``_line``) lets :func:`validate` name the file and line of a bad record.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from loaders.table import TS_MAX, TS_MIN
from mllmrec.errors import InputDataError

MAX_ID_CHARS = 256
"""Longest user or item id accepted. Ids are keys of Neo4j indexes, whose entries are limited
to a few kilobytes; a longer id would be refused by the database halfway through a write."""
_ID_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_TEXT_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
"""Control characters refused in ids (all of them) and in texts (all but tab and newlines):
they do not survive CSV/JSON exports or terminals, and in source files they mean corruption."""

ITEM_TEXT_FIELDS = ("title", "brand", "category", "description")
ITEM_METADATA = (*ITEM_TEXT_FIELDS, "image")
ITEM_COLUMNS = ("item_id", *ITEM_METADATA)
INTERACTION_COLUMNS = ("user_id", "item_id", "rating", "ts", "split")


@dataclass
class Catalogue:
    """Users, items and interactions of one dataset in canonical form."""

    users: pd.DataFrame
    items: pd.DataFrame
    interactions: pd.DataFrame
    domain: str = "products"
    source: str = ""
    meta: dict[str, str] = field(default_factory=dict)
    #: False when the source gave no item metadata (no items file): ``items`` then only lists
    #: ids, and an ingest leaves the text already stored on those items alone.
    item_metadata: bool = True

    @property
    def has_split(self) -> bool:
        return bool(self.interactions["split"].notna().all()) and len(self.interactions) > 0


def make_items(df: pd.DataFrame) -> pd.DataFrame:
    """Give an item frame every canonical column (missing ones None), ids as str."""
    out = df.copy()
    for col in ITEM_COLUMNS:
        if col not in out.columns:
            out[col] = None
    out["item_id"] = out["item_id"].astype(str)
    for col in (*ITEM_TEXT_FIELDS, "image"):
        out[col] = out[col].map(_clean_text).astype(object)
    keep = [*ITEM_COLUMNS, *(c for c in ("_file", "_line") if c in out.columns)]
    return out[keep].reset_index(drop=True)


def make_interactions(df: pd.DataFrame) -> pd.DataFrame:
    """Give an interaction frame every canonical column with canonical dtypes."""
    out = df.copy()
    out["user_id"] = out["user_id"].astype(str)
    out["item_id"] = out["item_id"].astype(str)
    out["rating"] = out["rating"].astype("float64") if "rating" in out else np.nan
    out["ts"] = out["ts"].astype("Int64") if "ts" in out else pd.array([pd.NA] * len(out), "Int64")
    out["split"] = out["split"].astype("Int8") if "split" in out else pd.array([pd.NA] * len(out), "Int8")
    keep = [*INTERACTION_COLUMNS, *(c for c in ("_file", "_line") if c in out.columns)]
    return out[keep].reset_index(drop=True)


def users_from(interactions: pd.DataFrame) -> pd.DataFrame:
    """The user frame implied by the interactions (sources without a user file)."""
    return pd.DataFrame({"user_id": pd.unique(interactions["user_id"]).astype(str)})


def _clean_text(value: object) -> str | None:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    text = str(value).strip()
    return text or None


def _where(df: pd.DataFrame, mask: pd.Series) -> dict[str, Any]:
    """``path`` and ``line`` of the first row under ``mask`` (keyword arguments of
    :class:`InputDataError`)."""
    row = df[mask.to_numpy()].iloc[0]
    file = str(row["_file"]) if "_file" in df.columns else "<input>"
    line = int(row["_line"]) if "_line" in df.columns and pd.notna(row["_line"]) else None
    return {"path": file, "line": line}


def _check_ids(frame: pd.DataFrame, col: str) -> None:
    """Ids must be non-empty, at most MAX_ID_CHARS long, without control characters."""
    text = frame[col].astype(str)
    checks = (
        (frame[col].isna() | (text.str.strip() == ""), "empty identifier"),
        (text.str.len() > MAX_ID_CHARS, f"identifier longer than {MAX_ID_CHARS} characters"),
        (text.str.contains(_ID_CONTROL), "identifier contains a control character"),
    )
    for bad, message in checks:
        if bad.any():
            raise InputDataError(**_where(frame, bad), message=message, field=col)


def _check_text(frame: pd.DataFrame, col: str) -> None:
    present = frame[col].notna()
    bad = present & frame[col].astype(str).str.contains(_TEXT_CONTROL)
    if bad.any():
        raise InputDataError(**_where(frame, bad), message="text contains a control character",
                             field=col)


def validate(cat: Catalogue, allow_duplicates: bool = False) -> Catalogue:
    """Check the whole catalogue before anything is written; raise InputDataError naming
    the file, line and field of the first problem. Returns the catalogue without the
    provenance columns."""
    inter, items = cat.interactions, cat.items
    if len(inter) == 0:
        raise InputDataError(cat.source or "<input>", "no interactions found (empty input)")
    for frame, col in ((inter, "user_id"), (inter, "item_id"), (items, "item_id")):
        _check_ids(frame, col)
    for col in (*ITEM_TEXT_FIELDS, "image"):
        _check_text(items, col)
    rating = inter["rating"].astype("float64")
    bad_rating = rating.notna() & ~np.isfinite(rating)
    if bad_rating.any():
        raise InputDataError(**_where(inter, bad_rating), message="rating must be a finite number",
                             field="rating")
    ts = inter["ts"].astype("Float64")
    bad_ts = ts.notna() & ((ts < TS_MIN) | (ts > TS_MAX))
    if bad_ts.fillna(False).any():
        raise InputDataError(**_where(inter, bad_ts.fillna(False).astype(bool)),
                             message="timestamp outside 1900-2100", field="ts")
    bad_split = inter["split"].notna() & ~inter["split"].isin([0, 1, 2])
    if bad_split.any():
        raise InputDataError(**_where(inter, bad_split), message="split must be 0, 1 or 2", field="split")
    if inter["split"].notna().any() and inter["split"].isna().any():
        raise InputDataError(**_where(inter, inter["split"].isna()),
                             message="some interactions have a split label and others not",
                             field="split")
    dup = inter.duplicated(["user_id", "item_id"], keep="first")
    if dup.any() and not allow_duplicates:
        where = _where(inter, dup)
        first = inter[(inter["user_id"] == inter[dup].iloc[0]["user_id"])
                      & (inter["item_id"] == inter[dup].iloc[0]["item_id"])]
        first_line = int(first.iloc[0]["_line"]) if "_line" in first.columns else None
        raise InputDataError(
            where["path"], f"duplicate interaction of user '{inter[dup].iloc[0]['user_id']}' with item "
            f"'{inter[dup].iloc[0]['item_id']}'" + (f" (first seen on line {first_line})" if first_line else "")
            + "; pass --dedupe to keep the latest", line=where["line"], field="item_id")
    if items["item_id"].duplicated().any():
        raise InputDataError(**_where(items, items["item_id"].duplicated()),
                             message="duplicate item id", field="item_id")
    return Catalogue(
        users=cat.users[["user_id"]].drop_duplicates().reset_index(drop=True),
        items=items[list(ITEM_COLUMNS)].reset_index(drop=True),
        interactions=inter[list(INTERACTION_COLUMNS)].reset_index(drop=True),
        domain=cat.domain, source=cat.source, meta=cat.meta, item_metadata=cat.item_metadata,
    )


def dedupe_latest(inter: pd.DataFrame) -> pd.DataFrame:
    """Keep each (user, item) pair's latest interaction (by timestamp, then by file order)."""
    order = inter.assign(_ord=np.arange(len(inter)))
    order = order.sort_values(["ts", "_ord"], na_position="first", kind="stable")
    kept = order.drop_duplicates(["user_id", "item_id"], keep="last").sort_values("_ord")
    return kept.drop(columns="_ord").reset_index(drop=True)
