"""Reading delimited text files strictly, keeping file and line for error messages."""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from mllmrec.errors import InputDataError


def require_file(path: str | Path) -> Path:
    path = Path(path)
    if not path.is_file():
        raise InputDataError(path, "file not found")
    if path.stat().st_size == 0:
        raise InputDataError(path, "file is empty")
    return path


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

    With ``names`` (headerless files), a line with fewer fields than ``names`` is an error
    naming the first missing field; with more, pandas' own line count is reported.
    With ``header``, ``required`` columns must be present.
    """
    path = require_file(path)
    try:
        df = pd.read_csv(
            path, sep=sep, header=0 if header else None, names=None if header else list(names or []),
            dtype=str, keep_default_na=False, na_values=[], encoding=encoding,
            engine="c" if len(sep) == 1 else "python", quoting=3 if not header else 0,
            skip_blank_lines=True, index_col=False,
        )
    except pd.errors.EmptyDataError:
        raise InputDataError(path, "file has no rows") from None
    except pd.errors.ParserError as exc:
        raise InputDataError(path, f"malformed row: {exc}") from None
    except UnicodeDecodeError as exc:
        raise InputDataError(path, f"not {encoding} text ({exc.reason} at byte {exc.start})") from None
    if df.empty:
        raise InputDataError(path, "file has no rows")
    df.columns = [str(c).strip() for c in df.columns]
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise InputDataError(path, f"missing column(s) {', '.join(missing)}; found {', '.join(df.columns)}",
                             line=1, field=missing[0])
    df["_file"] = str(path)
    df["_line"] = _line_numbers(path, len(df), header, encoding)
    if names and strict_width:
        for col in names:
            empty = df[col].isna()
            if empty.any():
                raise InputDataError(path, "line has too few fields (truncated?)",
                                     line=int(df.loc[empty, "_line"].iloc[0]), field=col)
    return df


def _line_numbers(path: Path, n_rows: int, header: bool, encoding: str) -> list[int]:
    """1-based file line of each data row (blank lines are skipped by the reader)."""
    lines: list[int] = []
    with open(path, encoding=encoding, errors="replace") as f:
        for number, text in enumerate(f, start=1):
            if text.strip():
                lines.append(number)
    if header:
        lines = lines[1:]
    return lines[:n_rows] if len(lines) >= n_rows else list(range(1, n_rows + 1))


def to_number(df: pd.DataFrame, col: str, kind: str = "float", optional: bool = False) -> pd.Series:
    """Parse a text column as numbers; the first unparsable value is an error naming its line."""
    raw = df[col].astype(str).str.strip()
    values = pd.to_numeric(raw.where(raw != "", None), errors="coerce")
    bad = values.isna() & ((raw != "") | (not optional))
    if bad.any():
        row = df[bad].iloc[0]
        shown = row[col] if row[col] != "" else "(empty)"
        raise InputDataError(row["_file"], f"expected a number, got '{shown}'",
                             line=int(row["_line"]), field=col)
    if kind == "int":
        frac = values.notna() & (values != values.round())
        if frac.any():
            row = df[frac].iloc[0]
            raise InputDataError(row["_file"], f"expected an integer, got '{row[col]}'",
                                 line=int(row["_line"]), field=col)
        return values.astype("Int64")
    return values.astype("float64")
