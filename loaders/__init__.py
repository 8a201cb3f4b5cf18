"""One reader per source format, each returning a canonical :class:`Catalogue`.

| format     | reader                            | files                                            |
|------------|-----------------------------------|--------------------------------------------------|
| movielens  | :func:`loaders.movielens.load_movielens` | ``u.data``, ``u.item`` (+ posters folder)  |
| amazon     | :func:`loaders.amazon.load_amazon`       | 2014 ``ratings_X.csv`` + ``meta_X.json.gz``; 2018/2023 JSON lines |
| mmrec      | :func:`loaders.mmrec.load_mmrec`         | ``<name>.inter`` (+ item metadata CSV)     |
| csv        | :func:`loaders.csv_files.load_csv`       | interactions CSV (+ items CSV)             |
"""
from loaders.canonical import Catalogue

FORMATS = ("movielens", "amazon", "mmrec", "csv")

__all__ = ["Catalogue", "FORMATS"]
