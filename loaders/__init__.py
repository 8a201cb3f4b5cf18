"""One reader per source format, each returning a canonical :class:`Catalogue`.

| format     | reader                            | files                                            |
|------------|-----------------------------------|--------------------------------------------------|
| movielens  | :func:`loaders.movielens.load_movielens` | ``u.data``, ``u.item`` (+ posters folder)  |
| amazon     | :func:`loaders.amazon.load_amazon`       | 2014 ratings CSV + meta JSON (gz); 2018/2023 JSON lines |
| mmrec      | :func:`loaders.mmrec.load_mmrec`         | ``<name>.inter`` (+ item metadata CSV)     |
| csv        | :func:`loaders.csv_files.load_csv`       | interactions CSV (+ items CSV)             |
"""
from __future__ import annotations

from pathlib import Path

from loaders.canonical import Catalogue
from mllmrec.errors import UnknownFormatError

FORMATS = ("movielens", "amazon", "mmrec", "csv")


def load(format: str, path: str | Path, *, posters: str | Path | None = None,
         items: str | Path | None = None, name: str | None = None,
         category: str | None = None, domain: str | None = None) -> Catalogue:
    """Load a source of ``format`` with the extras that format takes (``posters`` for
    movielens; ``items`` metadata for amazon/mmrec/csv; mmrec's ``name``; the domain:
    amazon ``category`` or csv ``domain``). The one entry point of the CLI and the pipeline."""
    if format == "movielens":
        from loaders.movielens import load_movielens
        return load_movielens(path, posters)
    if format == "amazon":
        from loaders.amazon import load_amazon
        return load_amazon(path, items, category or domain)
    if format == "mmrec":
        from loaders.mmrec import load_mmrec
        return load_mmrec(path, name, items)
    if format == "csv":
        from loaders.csv_files import load_csv
        return load_csv(path, items, domain or "products")
    raise UnknownFormatError(f"unknown source format '{format}'; known formats: {', '.join(FORMATS)}")


__all__ = ["Catalogue", "FORMATS", "load"]
