"""Amazon reviews, three generations, told apart by their content:

- 2014 ``ratings_<Category>.csv``: ``user,item,rating,timestamp`` without a header (the 2018
  ratings-only files put the item first: the order is told from which column holds ASINs);
  ``meta_<Category>.json.gz`` lines are Python dict literals (``{'asin': ...}``), parsed with
  :func:`ast.literal_eval`, never ``eval``.
- 2014/2018 reviews (JSON lines: ``reviewerID``, ``asin``, ``overall``, ``unixReviewTime``)
  and 2018 metadata (JSON lines: ``asin``, ``title``, ``brand``, ``category`` list,
  ``description`` list, ``imageURLHighRes``/``imageURL`` lists).
- 2023 reviews (JSON lines: ``user_id``, ``parent_asin``/``asin``, ``rating``, ``timestamp``
  in milliseconds; or the CSV with header ``user_id,parent_asin,rating,timestamp``) and
  metadata (``parent_asin``, ``title``, ``store``, ``categories``, ``description`` list,
  ``images`` list of ``{hi_res, large, thumb}``).

Items are keyed by ``parent_asin`` when the source has it, else ``asin``. The first category
path becomes ``category`` ("A > B > C"), the first image URL ``image``. The domain comes from
``category`` or the file name (``ratings_Baby.csv`` -> "Baby").
"""
from __future__ import annotations

import ast
import html
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from loaders.canonical import Catalogue, make_interactions, make_items, users_from
from loaders.csv_files import read_interactions
from loaders.table import TS_MAX, TS_MIN, check_range, open_text, read_table, require_file, to_number
from mllmrec.errors import InputDataError

_ASIN = re.compile(r"^(B[0-9A-Z]{9}|[0-9]{9}[0-9X])$")
_ID_IN_LINE = re.compile(r"""["'](?:parent_asin|asin)["']\s*:\s*["']([^"']+)["']""")
_TAG = re.compile(r"<[^>]+>")
_NAME_NOISE = re.compile(r"^(ratings?|reviews?|meta)_|(_5|_5core)$", re.IGNORECASE)


# ---------------------------------------------------------------------------- records


def parse_record(line: str) -> Any:
    """A JSON object, or (2014 metadata) a Python dict literal, never evaluated as code."""
    try:
        return json.loads(line)
    except ValueError:
        return ast.literal_eval(line)


def read_records(path: Path, keep: Callable[[str], bool] | None = None
                 ) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield ``(line number, record)`` for each non-blank line of a JSON-lines or
    dict-literal file (plain or gzip). ``keep(line)`` may skip lines before parsing. A line
    that does not parse to a mapping is an error naming its line."""
    try:
        with open_text(path) as f:
            for number, line in enumerate(f, start=1):
                line = line.strip()
                if not line or (keep is not None and not keep(line)):
                    continue
                try:
                    record = parse_record(line)
                except (ValueError, SyntaxError, MemoryError, RecursionError) as exc:
                    reason = getattr(exc, "msg", None) or str(exc) or type(exc).__name__
                    raise InputDataError(path, f"not a complete JSON/dict record ({reason}); "
                                         "truncated line?", line=number) from None
                if not isinstance(record, dict):
                    raise InputDataError(path, "expected one JSON object per line", line=number)
                yield number, record
    except (EOFError, OSError) as exc:
        raise InputDataError(path, f"cannot read the file ({exc}); truncated download?") from None
    except UnicodeDecodeError as exc:
        raise InputDataError(path, f"not UTF-8 text ({exc.reason})") from None


def first_record_keys(path: Path) -> set[str] | None:
    """Keys of the first record if the file is JSON/dict lines, else None (CSV)."""
    with open_text(path, errors="replace") as f:
        for line in f:
            line = line.strip()
            if line:
                break
        else:
            raise InputDataError(path, "file has no rows")
    if not line.startswith("{"):
        return None
    for _, record in read_records(path):
        return set(record)
    return None


# ---------------------------------------------------------------------------- reviews

_REVIEW_FIELDS = {
    "2018": ("reviewerID", ("asin",), "overall", "unixReviewTime", 1),
    "2023": ("user_id", ("parent_asin", "asin"), "rating", "timestamp", 1000),
}


def _number(path: Path, line: int, field: str, value: Any, required: bool) -> float | None:
    if value is None or value == "":
        if required:
            raise InputDataError(path, "missing value", line=line, field=field)
        return None
    try:
        if isinstance(value, bool):
            raise TypeError
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        number = float("nan")
    if not np.isfinite(number):
        raise InputDataError(path, f"expected a number, got {value!r}", line=line,
                             field=field)
    return number


def read_review_lines(path: Path, flavour: str) -> pd.DataFrame:
    """Interactions from JSON-lines reviews (``flavour`` '2018' also covers 2014 reviews)."""
    user_f, item_fs, rating_f, ts_f, per_second = _REVIEW_FIELDS[flavour]
    users, items, ratings, stamps, lines = [], [], [], [], []
    for number, rec in read_records(path):
        user = rec.get(user_f)
        item = next((rec[f] for f in item_fs if rec.get(f)), None)
        for field, value in ((user_f, user), ("/".join(item_fs), item)):
            if value is None or str(value).strip() == "":
                raise InputDataError(path, "missing value", line=number, field=field)
        users.append(str(user).strip())
        items.append(str(item).strip())
        ratings.append(_number(path, number, rating_f, rec.get(rating_f), required=True))
        ts = _number(path, number, ts_f, rec.get(ts_f), required=False)
        stamps.append(None if ts is None else ts // per_second)
        lines.append(number)
    frame = pd.DataFrame({"user_id": users, "item_id": items, "rating": ratings,
                          ts_f: pd.array(stamps, dtype="Float64"), "_file": str(path),
                          "_line": lines})
    check_range(frame, ts_f, frame[ts_f], TS_MIN, TS_MAX, "timestamp (1900-2100)")
    return make_interactions(frame.rename(columns={ts_f: "ts"}))


def read_ratings_csv(path: Path) -> pd.DataFrame:
    """Headerless 4-column ratings CSV: 2014 ``user,item,...`` or 2018 ``item,user,...``."""
    df = read_table(path, sep=",", names=["user_id", "item_id", "rating", "ts"])
    sample = df.head(1000)
    asins = [sample[c].str.strip().str.fullmatch(_ASIN).mean() for c in ("user_id", "item_id")]
    user, item = ("item_id", "user_id") if asins[0] > asins[1] else ("user_id", "item_id")
    out = pd.DataFrame({"user_id": df[user].str.strip(), "item_id": df[item].str.strip(),
                        "rating": to_number(df, "rating"), "ts": to_number(df, "ts", "int"),
                        "_file": df["_file"], "_line": df["_line"]})
    check_range(df, "ts", out["ts"], TS_MIN, TS_MAX, "timestamp (Unix seconds, 1900-2100)")
    return make_interactions(out)


def read_reviews(path: str | Path) -> pd.DataFrame:
    """Interactions from any of the review/rating file kinds (told from the content)."""
    path = require_file(path)
    keys = first_record_keys(path)
    if keys is None:
        with open_text(path, errors="replace") as f:
            header = f.readline().lower()
        if "user" in header and ("asin" in header or "item" in header):
            return read_interactions(path, sep=",")  # 2023 CSV with header, ms timestamps
        return read_ratings_csv(path)
    if "user_id" in keys:
        return read_review_lines(path, "2023")
    if "reviewerID" in keys:
        return read_review_lines(path, "2018")
    raise InputDataError(path, "unrecognised review record: expected reviewerID/asin/overall/"
                         "unixReviewTime (2014, 2018) or user_id/parent_asin/rating/timestamp "
                         f"(2023); found keys {', '.join(sorted(keys))}", line=1)


# ---------------------------------------------------------------------------- metadata


def _text(value: Any) -> str | None:
    """Plain text from a string or list of strings (HTML tags and entities removed)."""
    if isinstance(value, (list, tuple)):
        value = " ".join(str(v) for v in value if v)
    if value is None:
        return None
    text = " ".join(_TAG.sub(" ", html.unescape(str(value))).split())
    return text or None


def first_category(rec: dict[str, Any]) -> str | None:
    """The first category path: 2014 ``categories`` is a list of paths, 2018 ``category``
    and 2023 ``categories`` are one path; 2023 falls back to ``main_category``."""
    value = rec.get("categories") or rec.get("category")
    if isinstance(value, (list, tuple)) and value and isinstance(value[0], (list, tuple)):
        value = value[0]
    if isinstance(value, (list, tuple)):
        parts = [_text(v) for v in value]
        value = " > ".join(p for p in parts if p)
    return _text(value) or _text(rec.get("main_category"))


def first_image(rec: dict[str, Any]) -> str | None:
    """The first image URL: 2014 ``imUrl``; 2018 ``imageURLHighRes``/``imageURL``/``image``
    lists; 2023 ``images`` dicts (``hi_res``, else ``large``)."""
    if rec.get("imUrl"):
        return str(rec["imUrl"]).strip()
    for key in ("imageURLHighRes", "imageURL", "image", "images"):
        for entry in rec.get(key) or []:
            if isinstance(entry, dict):
                entry = entry.get("hi_res") or entry.get("large") or entry.get("thumb")
            if entry and str(entry).strip():
                return str(entry).strip()
    return None


def read_meta(path: str | Path, wanted: set[str] | None = None) -> pd.DataFrame:
    """Item metadata (any generation) as a canonical item frame. With ``wanted``, lines
    whose id is visibly not wanted are skipped before parsing (metadata files hold the whole
    category, often millions of products)."""
    path = require_file(path)

    def keep(line: str) -> bool:
        found = _ID_IN_LINE.search(line)
        return wanted is None or found is None or found.group(1) in wanted

    rows = []
    for number, rec in read_records(path, keep):
        item = rec.get("parent_asin") or rec.get("asin")
        if not item or not str(item).strip():
            raise InputDataError(path, "record has no item id", line=number,
                                 field="parent_asin/asin")
        raw_details = rec.get("details")
        details = raw_details if isinstance(raw_details, dict) else {}
        rows.append({
            "item_id": str(item).strip(),
            "title": _text(rec.get("title")),
            "brand": _text(rec.get("brand") or rec.get("store") or details.get("Brand")),
            "category": first_category(rec),
            "description": _text(rec.get("description")),
            "image": first_image(rec),
            "_file": str(path), "_line": number,
        })
    if not rows:
        raise InputDataError(path, "no item records found")
    return make_items(pd.DataFrame(rows))


def domain_from(path: Path) -> str:
    """'Baby' from ratings_Baby.csv, 'Sports and Outdoors' from Sports_and_Outdoors_5.json.gz."""
    stem = path.name.split(".")[0]
    return _NAME_NOISE.sub("", stem).replace("_", " ").strip()


def load_amazon(ratings: str | Path, meta: str | Path | None = None,
                category: str | None = None) -> Catalogue:
    """Load Amazon reviews/ratings and (optionally) metadata of one category."""
    ratings = Path(ratings)
    inter = read_reviews(ratings)
    if meta is not None:
        items = read_meta(meta, wanted=set(inter["item_id"]))
        items = items.drop_duplicates("item_id", keep="first")
    else:
        items = make_items(pd.DataFrame({"item_id": pd.unique(inter["item_id"])}))
    domain = category or domain_from(ratings) or (domain_from(Path(meta)) if meta else "") or "products"
    return Catalogue(users=users_from(inter), items=items, interactions=inter,
                     domain=domain, source=str(ratings),
                     meta={"format": "amazon", "meta": str(meta or "")},
                     item_metadata=meta is not None)
