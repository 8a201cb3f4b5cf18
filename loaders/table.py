"""Reading delimited text files strictly, keeping file and line for error messages."""
from __future__ import annotations

import gzip
import io
import re
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

import numpy as np
import pandas as pd

from mllmrec.errors import InputDataError


def require_file(path: str | Path) -> Path:
    path = Path(path)
    if not path.is_file():
        raise InputDataError(path, "file not found")
    if path.stat().st_size == 0:
        raise InputDataError(path, "file is empty")
    return path


def is_gzip(path: Path) -> bool:
    """Whether the file starts with the gzip magic bytes (whatever its name says)."""
    with open(path, "rb") as f:
        return f.read(2) == b"\x1f\x8b"


def open_text(path: str | Path, encoding: str = "utf-8", errors: str = "strict") -> TextIO:
    """Open a plain or gzip-compressed text file for reading."""
    path = Path(path)
    if is_gzip(path):
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding=encoding, errors=errors)
    return open(path, encoding=encoding, errors=errors)


_PANDAS_LINE = re.compile(r"line (\d+)")

TS_MIN, TS_MAX = -2_208_988_800, 4_102_444_800
"""Accepted Unix timestamps: 1900-01-01 to 2100-01-01 UTC. Anything outside is a unit or
typing error (e.g. microseconds) and would not survive Neo4j's 64-bit integers anyway."""
MAX_EXACT_INT = 2**53
"""Integers above this magnitude cannot be held exactly by the float parse; refused."""


def check_range(df: pd.DataFrame, col: str, values: pd.Series, lo: float, hi: float,
                what: str) -> None:
    """Raise naming the file and line of the first value outside ``[lo, hi]`` (missing values
    pass); ``df`` carries ``_file``/``_line`` and the raw text in ``col``."""
    bad = values.notna() & ((values < lo) | (values > hi))
    if bad.any():
        row = df[bad.to_numpy()].iloc[0]
        raise InputDataError(row["_file"], f"{what} out of range, got '{row[col]}'",
                             line=int(row["_line"]), field=col)


def read_table(
    path: str | Path,
    sep: str,
    names: Sequence[str] | None = None,
    header: bool = False,
    required: Sequence[str] = (),
    encoding: str = "utf-8",
    strict_width: bool = True,
) -> pd.DataFrame:
    """Read every field as text, with ``_file`` and ``_line`` (1-based line in the file).

    A line with fewer fields than the columns (``names``, or the header) is an error naming
    the first missing field; a line with more names the line pandas reports. With
    ``header``, ``required`` columns must be present. Gzip files are read transparently.
    """
    path = require_file(path)
    try:
        df = pd.read_csv(
            path, sep=sep, header=0 if header else None, names=None if header else list(names or []),
            dtype=str, keep_default_na=False, na_values=[], encoding=encoding,
            engine="c" if len(sep) == 1 else "python", quoting=3 if not header else 0,
            skip_blank_lines=True, index_col=False,
            compression="gzip" if is_gzip(path) else None,
        )
    except pd.errors.EmptyDataError:
        raise InputDataError(path, "file has no rows") from None
    except pd.errors.ParserError as exc:
        found = _PANDAS_LINE.search(str(exc))
        raise InputDataError(path, f"malformed row: {str(exc).strip()}",
                             line=int(found.group(1)) if found else None) from None
    except (EOFError, gzip.BadGzipFile, OSError) as exc:
        raise InputDataError(path, f"cannot read the file ({exc})") from None
    except UnicodeDecodeError as exc:
        raise InputDataError(path, f"not {encoding} text ({exc.reason} at byte {exc.start})") from None
    if df.empty:
        raise InputDataError(path, "file has no rows")
    df.columns = [str(c).strip() for c in df.columns]
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise InputDataError(path, f"missing column(s) {', '.join(missing)}; found {', '.join(df.columns)}",
                             line=1, field=missing[0])
    columns = list(names) if names else [c for c in df.columns]
    lines, widths = _scan_lines(path, sep, header, encoding, quoted=header)
    df["_file"] = str(path)
    if len(lines) == len(df):
        df["_line"] = lines
        exact = strict_width and len(sep) == 1
        short = [k for k, w in enumerate(widths) if 0 < w < len(columns)] if exact else []
        if short:
            k = short[0]
            raise InputDataError(path, f"line has {widths[k]} field(s), expected {len(columns)} "
                                 "(truncated?)", line=lines[k], field=columns[widths[k]])
        wide = [k for k, w in enumerate(widths) if w > len(columns)] if exact else []
        if wide:  # the parser would silently drop the extra fields
            k = wide[0]
            raise InputDataError(path, f"line has {widths[k]} fields, expected {len(columns)} "
                                 "(a separator inside an unquoted value?)", line=lines[k])
    else:  # quoted fields spanning lines: row numbers are the best we can say
        df["_line"] = list(range(2 if header else 1, len(df) + (2 if header else 1)))
    return df


def _scan_lines(path: Path, sep: str, header: bool, encoding: str,
                quoted: bool) -> tuple[list[int], list[int]]:
    """1-based file line and field count (separators + 1) of each non-blank data line; with
    ``quoted`` (the parser honours quotes), lines holding a quote count 0 (unknown width)."""
    lines: list[int] = []
    widths: list[int] = []
    with open_text(path, encoding=encoding, errors="replace") as f:
        for number, text in enumerate(f, start=1):
            if "\x00" in text:  # the CSV parser would silently cut the field at it
                raise InputDataError(path, "NUL byte in the text (binary or corrupted file?)",
                                     line=number)
            if text.strip():
                lines.append(number)
                widths.append(0 if quoted and '"' in text else text.count(sep) + 1)
    if header:
        lines, widths = lines[1:], widths[1:]
    return lines, widths


def to_number(df: pd.DataFrame, col: str, kind: str = "float", optional: bool = False) -> pd.Series:
    """Parse a text column as numbers; the first unparsable value is an error naming its line."""
    raw = df[col].astype(str).str.strip()
    values = pd.to_numeric(raw.where(raw != "", None), errors="coerce")
    bad = (values.isna() & ((raw != "") | (not optional))) | values.isin([np.inf, -np.inf])
    if bad.any():
        row = df[bad].iloc[0]
        shown = row[col] if row[col] != "" else "(empty)"
        raise InputDataError(row["_file"], f"expected a number, got '{shown}'",
                             line=int(row["_line"]), field=col)
    if kind == "int":
        check_range(df, col, values, -MAX_EXACT_INT, MAX_EXACT_INT, "integer")
        frac = values.notna() & (values != values.round())
        if frac.any():
            row = df[frac].iloc[0]
            raise InputDataError(row["_file"], f"expected an integer, got '{row[col]}'",
                                 line=int(row["_line"]), field=col)
        return values.astype("Int64")
    return values.astype("float64")
