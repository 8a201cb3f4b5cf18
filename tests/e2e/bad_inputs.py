"""The bad-input corpus: malformed files for each loader, bad dataset names and bad stage
arguments. Each case writes its files under a folder and says what the error must name.

A case is ``(args after the global options, expected)``; ``expected`` is a :class:`Expect`.
"""
from __future__ import annotations

import gzip
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

GOOD = "user,item,rating,timestamp\nu1,i1,5,100\nu1,i2,4,101\nu1,i3,3,102\nu2,i1,2,103\n"
HEAD = "user,item,rating,timestamp\n"
ML_ITEMS = ("1|Toy Story (1995)|01-Jan-1995||http://x|0|0|0|1|1|1|0|0|0|0|0|0|0|0|0|0|0|0|0\n"
            "2|GoldenEye (1995)|01-Jan-1995||http://x|0|1|1|0|0|0|0|0|0|0|0|0|0|0|0|0|1|0|0\n")


@dataclass
class Expect:
    """What the error must say: exception type name (None: a click usage error, exit 2),
    the file it starts with (None: no file), line, field and a phrase."""

    error: str | None
    file: Path | None = None
    line: int | None = None
    field: str | None = None
    phrase: str = ""


Case = Callable[[Path], tuple[list[str], Expect]]
CASES: dict[str, Case] = {}


def case(name: str) -> Callable[[Case], Case]:
    def register(func: Case) -> Case:
        CASES[name] = func
        return func
    return register


def write(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    return path


def _csv(tmp: Path, body: str, name: str = "i.csv") -> tuple[list[str], Path]:
    p = write(tmp / name, body)
    return ["ingest", "csv", str(p)], p


def _inp(error: str, p: Path, line: int | None, field: str | None, phrase: str) -> Expect:
    return Expect(error, p, line, field, phrase)


# ------------------------------------------------------------------------- csv interactions

def _csv_case(name: str, body: str, line: int | None, field: str | None, phrase: str) -> None:
    @case(f"csv: {name}")
    def run(tmp: Path) -> tuple[list[str], Expect]:
        args, p = _csv(tmp, body)
        return args, _inp("InputDataError", p, line, field, phrase)


_csv_case("truncated line", GOOD + "u3,i9,4\n", 6, "timestamp", "truncated")
_csv_case("missing item column", "user,rating\nu1,5\n", 1, "item_id", "missing column")
_csv_case("duplicate rows", GOOD + "u2,i1,5,104\n", 6, "item_id", "duplicate interaction")
_csv_case("empty user id", GOOD + ",i1,5,104\n", 6, "user_id", "empty identifier")
_csv_case("empty item id", GOOD + "u3, ,5,104\n", 6, "item_id", "empty identifier")
_csv_case("100 KB item id on the last row", GOOD + "u3," + "x" * 100_000 + ",5,104\n", 6,
          "item_id", "longer than 256")
_csv_case("300-character user id", GOOD + "u" * 300 + ",i1,5,104\n", 6, "user_id",
          "longer than 256")
_csv_case("control character in item id", GOOD + "u3,i\x079,5,104\n", 6, "item_id",
          "control character")
_csv_case("control character in user id", GOOD + "u\x1b3,i9,5,104\n", 6, "user_id",
          "control character")
_csv_case("infinite rating", GOOD + "u3,i9,inf,104\n", 6, "rating", "expected a number")
_csv_case("NaN rating", GOOD + "u3,i9,NaN,104\n", 6, "rating", "expected a number")
_csv_case("text rating", GOOD + "u3,i9,great,104\n", 6, "rating", "expected a number")
_csv_case("timestamp 1e23", GOOD + "u3,i9,5,99999999999999999999999\n", 6, "timestamp",
          "out of range")
_csv_case("negative timestamp", GOOD + "u3,i9,5,-99999999999\n", 6, "timestamp",
          "out of range")
_csv_case("timestamp in microseconds", GOOD + "u3,i9,5,1700000000000000\n", 6, "timestamp",
          "out of range")
_csv_case("unparsable date", GOOD + "u3,i9,5,yesterday\n", 6, "timestamp",
          "expected Unix seconds or a date")
_csv_case("bad split label", "user,item,split\nu1,i1,train\nu1,i2,maybe\n", 3, "split",
          "split must be")
_csv_case("split label on some rows only", "user,item,split\nu1,i1,train\nu1,i2,\n", 3, "split",
          "split must be")
_csv_case("extra field", GOOD + "u3,i9,5,104,oops\n", 6, None, "expected 4")
_csv_case("header only", HEAD, None, None, "no rows")
_csv_case("two user columns", "user,userId,item\nu1,u1,i1\n", 1, "user_id", "look like")


@case("csv: empty file")
def _empty_csv(tmp: Path) -> tuple[list[str], Expect]:
    args, p = _csv(tmp, "")
    return args, _inp("InputDataError", p, None, None, "empty")


@case("csv: latin-1 bytes")
def _latin1(tmp: Path) -> tuple[list[str], Expect]:
    args, p = _csv(tmp, (GOOD + "u3,caf\xe9,5,104\n").encode("latin-1"))
    return args, _inp("InputDataError", p, None, None, "not utf-8 text")


@case("csv: gzip cut short")
def _gzip_csv(tmp: Path) -> tuple[list[str], Expect]:
    blob = gzip.compress((HEAD + "u1,i1,5,100\n" * 5000).encode())
    p = write(tmp / "i.csv.gz", blob[:80])
    return ["ingest", "csv", str(p)], _inp("InputDataError", p, None, None, "cannot read")


# ------------------------------------------------------------------------- csv items

def _items_case(name: str, body: str, line: int | None, field: str | None, phrase: str) -> None:
    @case(f"csv items: {name}")
    def run(tmp: Path) -> tuple[list[str], Expect]:
        inter = write(tmp / "i.csv", GOOD)
        items = write(tmp / "items.csv", body)
        return (["ingest", "csv", str(inter), "--items", str(items)],
                _inp("InputDataError", items, line, field, phrase))


_items_case("duplicate item id", "id,title\ni1,A\ni2,B\ni1,C\n", 4, "item_id", "duplicate item id")
_items_case("empty item id", "id,title\ni1,A\n ,B\n", 3, "id", "empty item id")
_items_case("control character in title", "id,title\ni1,A\ni2,B\x01x\n", 3, "title",
            "control character")
_items_case("NUL byte in a title", "id,title\ni1,A\ni2,B\x00x\n", 3, None, "NUL byte")
_items_case("no id column", "name,title\nx,A\n", 1, "item_id", "missing column")
_items_case("400-character item id", "id,title\ni1,A\n" + "y" * 400 + ",B\n", 3, "item_id",
            "longer than 256")


# ------------------------------------------------------------------------- amazon

def _amazon_case(name: str, file: str, body: str | bytes, line: int | None, field: str | None,
                 phrase: str) -> None:
    @case(f"amazon: {name}")
    def run(tmp: Path) -> tuple[list[str], Expect]:
        p = write(tmp / file, body)
        return ["ingest", "amazon", str(p)], _inp("InputDataError", p, line, field, phrase)


_R = '{"reviewerID": "A1", "asin": "B000000001", "overall": 5.0, "unixReviewTime": 1400000000}\n'
_amazon_case("non-numeric rating", "ratings_Baby.csv", "A1,B000000001,5.0,1\nA2,B000000001,great,2\n",
             2, "rating", "expected a number")
_amazon_case("ratings timestamp 1e23", "ratings_Baby.csv",
             "A1,B000000001,5.0,1\nA2,B000000001,4.0,99999999999999999999999\n", 2, "ts",
             "out of range")
_amazon_case("ratings empty user", "ratings_Baby.csv", "A1,B000000001,5.0,1\n,B000000002,4.0,2\n",
             2, "user_id", "empty identifier")
_amazon_case("truncated JSON line", "Baby_5.json", _R + _R[:40] + "\n", 2, None, "truncated")
_amazon_case("review without reviewerID", "Baby_5.json",
             _R + '{"asin": "B000000002", "overall": 4.0, "unixReviewTime": 1}\n', 2,
             "reviewerID", "missing value")
_amazon_case("review time 1e30", "Baby_5.json",
             _R + '{"reviewerID": "A2", "asin": "B000000002", "overall": 4.0, "unixReviewTime": 1e30}\n',
             2, "unixReviewTime", "out of range")
_amazon_case("rating Infinity", "Baby_5.json",
             _R + '{"reviewerID": "A2", "asin": "B000000002", "overall": Infinity, "unixReviewTime": 1}\n',
             2, "overall", "expected a number")
_amazon_case("rating true", "Baby_5.json",
             _R + '{"reviewerID": "A2", "asin": "B000000002", "overall": true, "unixReviewTime": 1}\n',
             2, "overall", "expected a number")
_amazon_case("2023 review with empty user_id", "Baby.jsonl",
             '{"user_id": "U1", "parent_asin": "B000000001", "rating": 5, "timestamp": 1400000000000}\n'
             '{"user_id": "", "parent_asin": "B000000002", "rating": 4, "timestamp": 1400000000000}\n',
             2, "user_id", "missing value")
_amazon_case("unknown record keys", "Baby.jsonl", '{"who": "x", "what": "y"}\n', 1, None,
             "unrecognised review record")
_amazon_case("a list per line", "Baby.jsonl", _R + "[1, 2]\n", 2, None, "one JSON object per line")


@case("amazon: truncated gzip metadata")
def _truncated_meta(tmp: Path) -> tuple[list[str], Expect]:
    ratings = write(tmp / "ratings_Baby.csv", "A1,B000000001,5.0,1\n")
    meta = write(tmp / "meta_Baby.json.gz",
                 gzip.compress(b"{'asin': 'B000000001', 'title': 'x'}\n" * 2000)[:60])
    return (["ingest", "amazon", str(ratings), "--meta", str(meta)],
            _inp("InputDataError", meta, None, None, "truncated"))


@case("amazon: metadata record without asin")
def _meta_no_id(tmp: Path) -> tuple[list[str], Expect]:
    ratings = write(tmp / "ratings_Baby.csv", "A1,B000000001,5.0,1\n")
    meta = write(tmp / "meta_Baby.json", "{'asin': 'B000000001', 'title': 'x'}\n{'title': 'y'}\n")
    return (["ingest", "amazon", str(ratings), "--meta", str(meta)],
            _inp("InputDataError", meta, 2, "parent_asin/asin", "no item id"))


@case("amazon: metadata title with a control character")
def _meta_control(tmp: Path) -> tuple[list[str], Expect]:
    ratings = write(tmp / "ratings_Baby.csv", "A1,B000000001,5.0,1\n")
    meta = write(tmp / "meta_Baby.json", '{"asin": "B000000001", "title": "a\\u0000b"}\n')
    return (["ingest", "amazon", str(ratings), "--meta", str(meta)],
            _inp("InputDataError", meta, 1, "title", "control character"))


# ------------------------------------------------------------------------- mmrec

def _mmrec_case(name: str, body: str, line: int | None, field: str | None, phrase: str) -> None:
    @case(f"mmrec: {name}")
    def run(tmp: Path) -> tuple[list[str], Expect]:
        p = write(tmp / "baby" / "baby.inter", body)
        return ["ingest", "mmrec", str(p.parent)], _inp("InputDataError", p, line, field, phrase)


_MM = "userID\titemID\trating\ttimestamp\tx_label\n"
_mmrec_case("empty file", "", None, None, "empty")
_mmrec_case("no x_label column", "userID\titemID\nu1\ti1\n", 1, "split", "missing column")
_mmrec_case("x_label 3", _MM + "u1\ti1\t5\t100\t0\nu1\ti2\t5\t101\t3\n", 3, "x_label",
            "split must be")
_mmrec_case("x_label missing on a row", _MM + "u1\ti1\t5\t100\t0\nu1\ti2\t5\t101\t\n", 3, "x_label",
            "split must be")
_mmrec_case("timestamp 1e23", _MM + "u1\ti1\t5\t99999999999999999999999\t0\n", 2, "timestamp",
            "out of range")


@case("mmrec: two .inter files")
def _two_inter(tmp: Path) -> tuple[list[str], Expect]:
    folder = tmp / "mixed"
    write(folder / "a.inter", _MM + "u1\ti1\t5\t100\t0\n")
    write(folder / "b.inter", _MM + "u1\ti1\t5\t100\t0\n")
    return ["ingest", "mmrec", str(folder)], _inp("InputDataError", folder, None, None,
                                                  "cannot tell which .inter")


# ------------------------------------------------------------------------- movielens

def _ml_case(name: str, data: str, line: int | None, field: str | None, phrase: str) -> None:
    @case(f"movielens: {name}")
    def run(tmp: Path) -> tuple[list[str], Expect]:
        folder = tmp / "ml"
        write(folder / "u.item", ML_ITEMS)
        p = write(folder / "u.data", data)
        return ["ingest", "movielens", str(folder)], _inp("InputDataError", p, line, field, phrase)


_ml_case("truncated line", "1\t1\t5\t881250949\n2\t2\t3\n", 2, "ts", "truncated")
_ml_case("item not in u.item", "1\t1\t5\t881250949\n2\t7\t3\t881250950\n", 2, "item_id",
         "not in u.item")
_ml_case("text user id", "1\t1\t5\t881250949\nabc\t2\t3\t881250950\n", 2, "user_id",
         "expected a number")
_ml_case("user id 1e20", "1\t1\t5\t881250949\n99999999999999999999\t2\t3\t881250950\n", 2,
         "user_id", "out of range")
_ml_case("timestamp 1e23", "1\t1\t5\t99999999999999999999999\n", 1, "ts", "out of range")
_ml_case("timestamp in the year 2500", "1\t1\t5\t16725225600\n", 1, "ts", "out of range")


# ------------------------------------------------------------------------- names and flags

def _config_case(name: str, args: list[str], phrase: str) -> None:
    @case(f"config: {name}")
    def run(tmp: Path) -> tuple[list[str], Expect]:
        p = write(tmp / "i.csv", GOOD)
        return [a.replace("{csv}", str(p)) for a in args], Expect("ConfigError", phrase=phrase)


_config_case("dataset name ../../x", ["--dataset", "../../x", "ingest", "csv", "{csv}"],
             "not a valid dataset name")
_config_case("10,000-character dataset name", ["--dataset", "d" * 10_000, "ingest", "csv", "{csv}"],
             "not a valid dataset name")
_config_case("dataset name with a space", ["--dataset", "my data", "stats"], "not a valid dataset name")
_config_case("dataset name with a slash", ["--dataset", "a/b", "train"], "not a valid dataset name")
_config_case("empty dataset name", ["--dataset", "", "ingest", "csv", "{csv}"], "not a valid dataset name")
_config_case("batch size 5", ["ingest", "--batch-size", "5", "csv", "{csv}"], "batch_size")
_config_case("pure 5", ["build-graph", "--pure", "5"], "graph.pure")
_config_case("zero epochs", ["train", "--epochs", "0"], "train.epochs")
_config_case("--set of an unknown section", ["pipeline", "run", "--set", "nope.x=1"], "unknown")


@case("stage: k-core leaves nothing")
def _kcore(tmp: Path) -> tuple[list[str], Expect]:
    p = write(tmp / "i.csv", GOOD)
    return (["ingest", "--kcore", "50", "csv", str(p)],
            Expect("InputDataError", p, None, None, "no interactions left"))


@case("stage: unknown format")
def _unknown_format(tmp: Path) -> tuple[list[str], Expect]:
    p = write(tmp / "x.parquet", "PAR1")
    return ["ingest", "parquet", str(p)], Expect(None, phrase="unknown format 'parquet'")


@case("stage: file does not exist")
def _no_file(tmp: Path) -> tuple[list[str], Expect]:
    return ["ingest", "csv", str(tmp / "nope.csv")], Expect(None, phrase="does not exist")
