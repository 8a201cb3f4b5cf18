"""Generic CSV and MMRec folders: header aliases, items files, split labels and malformed
input, on tiny files written in tmp_path."""
from __future__ import annotations

from pathlib import Path

import pytest

from loaders.canonical import validate
from loaders.csv_files import load_csv
from loaders.mmrec import load_mmrec
from mllmrec.config import IngestSettings
from mllmrec.errors import InputDataError
from mllmrec.ingest import prepare


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.mark.parametrize("header, sep", [
    ("userId,movieId,rating,timestamp", ","),
    ("user_id\titem_id\trating\tts", "\t"),
    ("user_id:token;item_id:token;rating:float;timestamp:float", ";"),
    ("reviewerID,asin,overall,unixReviewTime", ","),
])
def test_interaction_header_aliases(tmp_path, header, sep):
    rows = [("u1", "i1", "4.5", "964982703"), ("u2", "i1", "3", "964981247")]
    text = header + "\n" + "\n".join(sep.join(r) for r in rows) + "\n"
    cat = load_csv(_write(tmp_path / "inter.csv", text))
    inter = cat.interactions
    assert list(inter["user_id"]) == ["u1", "u2"] and list(inter["item_id"]) == ["i1", "i1"]
    assert list(inter["rating"]) == [4.5, 3.0] and list(inter["ts"]) == [964982703, 964981247]
    assert set(cat.items["item_id"]) == {"i1"} and not cat.has_split


def test_optional_columns_dates_and_milliseconds(tmp_path):
    only_ids = load_csv(_write(tmp_path / "a.csv", "user,item\nu1,i1\nu1,i2\n")).interactions
    assert only_ids["rating"].isna().all() and only_ids["ts"].isna().all()
    dated = load_csv(_write(tmp_path / "b.csv", "user,item,date\nu1,i1,2020-01-02\nu1,i2,\n")).interactions
    assert dated["ts"].iloc[0] == 1577923200 and dated["ts"].isna().iloc[1]
    ms = load_csv(_write(tmp_path / "c.csv", "user,item,timestamp\nu1,i1,1588687728923\n")).interactions
    assert ms["ts"].iloc[0] == 1588687728


def test_split_column_is_kept_through_prepare(tmp_path):
    path = _write(tmp_path / "s.csv", "user,item,split\nu1,i1,train\nu1,i2,valid\nu1,i3,test\nu2,i1,0\n")
    cat = load_csv(path)
    assert cat.has_split
    prepared = prepare(cat, IngestSettings())
    assert list(prepared.interactions["split"]) == [0, 1, 2, 0]


def test_items_file(tmp_path):
    inter = _write(tmp_path / "inter.csv", "user,item\nu1,m1\nu1,m2\n")
    _write(tmp_path / "img" / "m1.jpg", "not really a jpeg")
    items = _write(tmp_path / "items.csv",
                   'item_id,name,genre,description,year,image_path\n'
                   'm1,Heat,"Crime, Thriller",A heist film.,1995,img/m1.jpg\n'
                   'm2,Up,Animation,,2009,https://example.org/up.jpg\n')
    cat = load_csv(inter, items, domain="movies")
    got = cat.items.set_index("item_id")
    assert got.loc["m1", "title"] == "Heat" and got.loc["m1", "category"] == "Crime, Thriller"
    assert got.loc["m1", "description"] == "A heist film.; year: 1995"  # other columns kept as text
    assert got.loc["m2", "description"] == "year: 2009"
    assert got.loc["m1", "image"] == str((tmp_path / "img" / "m1.jpg").resolve())
    assert got.loc["m2", "image"] == "https://example.org/up.jpg"
    assert cat.domain == "movies"


@pytest.mark.parametrize("text, line, field, words", [
    ("user,item,rating\nu1,i1,5\nu2,i2,five\n", 3, "rating", "expected a number"),
    ("user,item,rating\nu1,i1,5\nu2\n", 3, "item", "truncated"),
    ("user,thing,rating\nu1,i1,5\n", 1, "item_id", "missing column 'item_id'"),
    ("user,item\nu1,i1\nu2,i2\nu1,i1\n", 4, "item_id", "first seen on line 2"),
    ("user,item,split\nu1,i1,train\nu1,i2,holdout\n", 3, "split", "split must be"),
    ("user_id,userId,item\nu1,u1,i1\n", 1, "user_id", "all look like"),
])
def test_malformed_csv_names_file_line_field(tmp_path, text, line, field, words):
    path = _write(tmp_path / "bad.csv", text)
    with pytest.raises(InputDataError) as err:
        validate(load_csv(path))
    assert (err.value.path, err.value.line, err.value.field) == (str(path), line, field), str(err.value)
    assert words in str(err.value)


def test_empty_csv_files(tmp_path):
    with pytest.raises(InputDataError, match="empty"):
        load_csv(_write(tmp_path / "empty.csv", ""))
    with pytest.raises(InputDataError, match="no rows"):
        load_csv(_write(tmp_path / "header_only.csv", "user,item\n"))


# ------------------------------------------------------------------------------ MMRec

INTER = ("userID\titemID\trating\ttimestamp\tx_label\n"
         "0\t0\t5.0\t1358985600\t0\n0\t1\t4.0\t1364860800\t1\n0\t2\t5.0\t1367712000\t2\n"
         "1\t0\t3.0\t1381276800\t0\n")


def test_mmrec_keeps_split_labels(tmp_path):
    folder = tmp_path / "baby"
    _write(folder / "baby.inter", INTER)
    cat = load_mmrec(folder)
    assert cat.has_split and cat.domain == "baby"
    prepared = prepare(cat, IngestSettings())
    assert list(prepared.interactions["split"]) == [0, 1, 2, 0]
    assert list(prepared.interactions["item_id"]) == ["0", "1", "2", "0"]
    assert len(prepared.users) == 2 and len(prepared.items) == 3


def test_mmrec_name_items_and_errors(tmp_path):
    folder = tmp_path / "data"
    _write(folder / "sports.inter", INTER)
    items = _write(tmp_path / "items.csv", "itemID,title\n0,Yoga mat\n1,Bike lock\n")
    cat = load_mmrec(folder, None, items)  # the folder's only .inter file
    assert cat.domain == "sports"
    assert cat.items.set_index("item_id").loc["1", "title"] == "Bike lock"
    _write(folder / "other.inter", INTER)
    with pytest.raises(InputDataError, match="pass --name"):
        load_mmrec(folder)
    no_label = _write(folder / "nolabel.inter", "userID\titemID\n0\t0\n")
    with pytest.raises(InputDataError) as err:
        load_mmrec(folder, "nolabel")
    assert (err.value.path, err.value.line, err.value.field) == (str(no_label), 1, "split")
    _write(folder / "badlabel.inter", "userID\titemID\tx_label\n0\t0\t0\n0\t1\t3\n")
    with pytest.raises(InputDataError, match="line 3, field 'x_label'"):
        load_mmrec(folder, "badlabel")
