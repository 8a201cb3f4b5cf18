"""Property tests: any generated file either loads (and validates) or raises InputDataError;
no other exception escapes a loader. The generators mix well-formed values with the kinds of
damage seen in real files (empty, huge, non-finite and non-numeric values, control
characters, stray separators and quotes, truncation)."""
from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loaders.amazon import load_amazon
from loaders.canonical import Catalogue, validate
from loaders.csv_files import load_csv
from loaders.mmrec import load_mmrec
from loaders.movielens import load_movielens
from mllmrec.errors import InputDataError

FAST = settings(max_examples=60, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

_odd = st.sampled_from(["", " ", "inf", "-inf", "NaN", "1e23", "99999999999999999999999",
                        "-1", "0", "1.5", "x" * 300, "a\x01b", "\x1b", "\"", "'", ",", "\t",
                        "|", ";", "2020-01-01", "yesterday", "é", "\u2028", "train", "3"])
_id = st.one_of(st.from_regex(r"[A-Za-z0-9]{1,6}", fullmatch=True), _odd)
_num = st.one_of(st.integers(-10, 10**12).map(str), st.floats(allow_nan=True).map(str), _odd)
_text = st.one_of(st.text(max_size=12), _odd)


def _outcome(load: Callable[[Path], Catalogue], files: dict[str, str | bytes]) -> None:
    """Write the files into a fresh folder, load and validate: a Catalogue or InputDataError."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for name, content in files.items():
            path = folder / name
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                path.write_bytes(content)
            else:
                path.write_text(content, encoding="utf-8", errors="surrogatepass")
        try:
            cat = validate(load(folder))
        except InputDataError as exc:
            assert str(exc).startswith(str(folder)) or exc.path.startswith(str(folder)), str(exc)
            return
        assert len(cat.interactions) > 0


def _rows(cells: st.SearchStrategy[list[str]], sep: str) -> st.SearchStrategy[str]:
    return st.lists(cells, min_size=0, max_size=8).map(
        lambda rows: "".join(sep.join(r) + "\n" for r in rows))


def _truncate(text: str, cut: int | None) -> str:
    return text if cut is None else text[:cut]


@FAST
@given(header=st.sampled_from(["user,item,rating,timestamp", "user,item", "userId,movieId,rating",
                               "user,item,split", "user;item;time", "item,rating", ""]),
       body=_rows(st.lists(st.one_of(_id, _num), min_size=1, max_size=5), ","),
       cut=st.one_of(st.none(), st.integers(0, 200)))
def test_csv_loads_or_raises_input_error(header: str, body: str, cut: int | None) -> None:
    text = _truncate(header + "\n" + body, cut)
    _outcome(lambda d: load_csv(d / "i.csv"), {"i.csv": text})


@FAST
@given(items=_rows(st.lists(st.one_of(_id, _text), min_size=1, max_size=3), ","),
       inter=_rows(st.tuples(_id, _id).map(list), ","))
def test_csv_with_items_loads_or_raises_input_error(items: str, inter: str) -> None:
    _outcome(lambda d: load_csv(d / "i.csv", d / "items.csv"),
             {"i.csv": "user,item\n" + inter, "items.csv": "id,title,brand\n" + items})


_record = st.fixed_dictionaries(
    {}, optional={"reviewerID": _id, "user_id": _id, "asin": _id, "parent_asin": _id,
                  "overall": st.one_of(_num, st.floats(), st.booleans(), st.none()),
                  "rating": st.one_of(_num, st.floats()),
                  "unixReviewTime": st.one_of(st.integers(-10**30, 10**30), st.floats(), _num),
                  "timestamp": st.one_of(st.integers(-10**30, 10**30), _num)})


@FAST
@given(records=st.lists(_record, min_size=0, max_size=6),
       junk=st.one_of(st.none(), st.sampled_from(["{", "[1]", "nope", "{'a': 1}", "\x00"])),
       cut=st.one_of(st.none(), st.integers(0, 300)))
def test_amazon_reviews_load_or_raise_input_error(records: list, junk: str | None,
                                                  cut: int | None) -> None:
    lines = [json.dumps(r) for r in records] + ([junk] if junk is not None else [])
    _outcome(lambda d: load_amazon(d / "Baby_5.json"),
             {"Baby_5.json": _truncate("\n".join(lines) + "\n", cut)})


@FAST
@given(body=_rows(st.lists(st.one_of(_id, _num), min_size=2, max_size=4), ","))
def test_amazon_ratings_csv_loads_or_raises_input_error(body: str) -> None:
    _outcome(lambda d: load_amazon(d / "ratings_Baby.csv"), {"ratings_Baby.csv": body})


@FAST
@given(body=_rows(st.lists(st.one_of(_id, _num), min_size=2, max_size=5), "\t"),
       header=st.sampled_from(["userID\titemID\tx_label", "userID\titemID\trating\ttimestamp\tx_label",
                               "userID\titemID"]))
def test_mmrec_loads_or_raises_input_error(body: str, header: str) -> None:
    _outcome(lambda d: load_mmrec(d / "baby"), {"baby/baby.inter": header + "\n" + body})


@FAST
@given(body=_rows(st.lists(st.one_of(st.integers(1, 3).map(str), _num, _id), min_size=1,
                           max_size=5), "\t"))
def test_movielens_loads_or_raises_input_error(body: str) -> None:
    items = ("1|A (1995)|01-Jan-1995||http://x" + "|0" * 19 + "\n"
             "2|B (1995)|01-Jan-1995||http://x" + "|0" * 18 + "|1\n")
    _outcome(lambda d: load_movielens(d / "ml"), {"ml/u.item": items, "ml/u.data": body})
