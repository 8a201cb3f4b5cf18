"""Amazon 2014 / 2018 / 2023 files: tiny realistic samples written in tmp_path, results
checked against values read off the samples by hand."""
from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from loaders.amazon import domain_from, load_amazon
from mllmrec.errors import InputDataError

# 2014: headerless ratings CSV (user,item,rating,unix seconds); metadata lines are Python
# dict literals (single quotes, nested dicts), as in meta_<Category>.json.gz.
RATINGS_2014 = """A2SUAM1J3GNN3B,0000031852,5.0,1355616000
A14VAT5EAX3D9S,0000031852,4.0,1386806400
A2SUAM1J3GNN3B,B00004TFLB,3.0,1361145600
A3BDW5VZV1Y4RP,B0000223SI,1.0,1192233600
"""
META_2014 = [
    "{'asin': '0000031852', 'title': 'Girls Ballet Tutu Zebra Hot Pink', 'price': 3.17, "
    "'imUrl': 'http://ecx.images-amazon.com/images/I/51fAmVkTbyL._SY300_.jpg', "
    "'related': {'also_bought': ['B00JHONN1S', 'B002BZX8Z6']}, 'salesRank': {'Toys & Games': 211836}, "
    "'categories': [['Baby', 'Baby Care', 'Bathing'], ['Clothing, Shoes & Jewelry', 'Girls']]}",
    "{'asin': 'B00004TFLB', 'brand': 'Sassy', 'title': \"Sassy's Bath Toy\", "
    "'description': 'Floats &amp; squirts. <b>BPA free</b>.', 'categories': [['Baby']]}",
    "{'asin': 'B0000XXXXX', 'title': 'Never bought', 'categories': [['Baby']]}",
]


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def _write_gz(path: Path, lines: list[str]) -> Path:
    with gzip.open(path, "wt") as f:
        f.write("\n".join(lines) + "\n")
    return path


@pytest.fixture
def amazon_2014(tmp_path: Path) -> tuple[Path, Path]:
    return (_write(tmp_path / "ratings_Baby.csv", RATINGS_2014),
            _write_gz(tmp_path / "meta_Baby.json.gz", META_2014))


def test_2014_ratings_and_dict_literal_meta(amazon_2014):
    cat = load_amazon(*amazon_2014)
    inter = cat.interactions
    assert len(inter) == 4 and set(cat.users["user_id"]) == {
        "A2SUAM1J3GNN3B", "A14VAT5EAX3D9S", "A3BDW5VZV1Y4RP"}
    first = inter.iloc[0]
    assert (first.user_id, first.item_id, first.rating, first.ts) == (
        "A2SUAM1J3GNN3B", "0000031852", 5.0, 1355616000)
    items = cat.items.set_index("item_id")
    tutu = items.loc["0000031852"]
    assert tutu.title == "Girls Ballet Tutu Zebra Hot Pink"
    assert tutu.category == "Baby > Baby Care > Bathing"  # the first path only
    assert tutu.image == "http://ecx.images-amazon.com/images/I/51fAmVkTbyL._SY300_.jpg"
    toy = items.loc["B00004TFLB"]
    assert (toy.brand, toy.title, toy.description) == ("Sassy", "Sassy's Bath Toy",
                                                       "Floats & squirts. BPA free .")
    assert "B0000XXXXX" not in items.index  # metadata of items nobody interacted with is skipped
    assert cat.domain == "Baby" and not cat.has_split


def test_2014_meta_is_never_evaluated(tmp_path):
    marker = tmp_path / "pwned"
    ratings = _write(tmp_path / "ratings_Baby.csv", "A1,B000000001,5.0,1\n")
    meta = _write(tmp_path / "meta_Baby.json",
                  f"{{'asin': 'B000000001', 'title': __import__('os').system('touch {marker}')}}\n")
    with pytest.raises(InputDataError) as err:
        load_amazon(ratings, meta)
    assert err.value.line == 1 and str(meta) in str(err.value)
    assert not marker.exists()


def test_2018_reviews_and_meta(tmp_path):
    reviews = [
        {"overall": 5.0, "verified": True, "reviewTime": "10 27, 2014", "reviewerID": "A1V6B6TNIC10QE",
         "asin": "0143026860", "reviewerName": "theodore j bigham", "reviewText": "Great",
         "summary": "Five Stars", "unixReviewTime": 1414368000},
        {"overall": 2.0, "reviewerID": "A2F5GHSXFQ0W6J", "asin": "0143026860",
         "unixReviewTime": 1203379200},
        {"overall": 4.0, "reviewerID": "A1V6B6TNIC10QE", "asin": "B00005N7P0",
         "unixReviewTime": 1208131200, "style": {"Format:": " Paperback"}},
    ]
    meta = [
        {"category": ["Sports & Outdoors", "Outdoor Recreation", "Cycling"], "tech1": "",
         "description": ["<p>Light &amp; strong.</p>", "Fits most bikes."], "title": "Bike Lock",
         "brand": "Kryptonite", "asin": "0143026860",
         "imageURL": ["https://images-na.ssl-images-amazon.com/images/I/41small.jpg"],
         "imageURLHighRes": ["https://images-na.ssl-images-amazon.com/images/I/41big.jpg"]},
    ]
    rev = _write_gz(tmp_path / "Sports_and_Outdoors_5.json.gz", [json.dumps(r) for r in reviews])
    met = _write(tmp_path / "meta_Sports_and_Outdoors.json", "\n".join(json.dumps(m) for m in meta))
    cat = load_amazon(rev, met)
    assert cat.domain == "Sports and Outdoors"
    assert list(cat.interactions["rating"]) == [5.0, 2.0, 4.0]
    assert list(cat.interactions["ts"]) == [1414368000, 1203379200, 1208131200]
    lock = cat.items.set_index("item_id").loc["0143026860"]
    assert lock.category == "Sports & Outdoors > Outdoor Recreation > Cycling"
    assert lock.description == "Light & strong. Fits most bikes."
    assert lock.image.endswith("41big.jpg") and lock.brand == "Kryptonite"


def test_2018_ratings_only_csv_has_the_item_first(tmp_path):
    path = _write(tmp_path / "Sports_and_Outdoors.csv",
                  "0000032034,A180LQZBUWVOLF,5.0,1433289600\nB00005N7P0,A1L6JFQG0Q0OVR,4.0,1433289601\n")
    inter = load_amazon(path).interactions
    assert list(inter["user_id"]) == ["A180LQZBUWVOLF", "A1L6JFQG0Q0OVR"]
    assert list(inter["item_id"]) == ["0000032034", "B00005N7P0"]


def test_2023_reviews_and_meta(tmp_path):
    reviews = [
        {"rating": 5.0, "title": "Such a lovely scent", "text": "...", "images": [],
         "asin": "B00YQ6X8EO", "parent_asin": "B00YQ6X8EO", "user_id": "AGKHLEW2SOWHNMFQIJGBECAF7INQ",
         "timestamp": 1588687728923, "helpful_vote": 0, "verified_purchase": True},
        {"rating": 4.0, "asin": "B081TJ8YS3", "parent_asin": "B08BBQ29N5",
         "user_id": "AGKHLEW2SOWHNMFQIJGBECAF7INQ", "timestamp": 1588615855070},
    ]
    meta = [
        {"main_category": "All Beauty", "title": "Howard LC0008 Leather Conditioner",
         "average_rating": 4.8, "features": [], "description": ["Restores leather."],
         "price": None, "images": [{"thumb": "https://m.media-amazon.com/t.jpg",
                                    "large": "https://m.media-amazon.com/l.jpg",
                                    "variant": "MAIN", "hi_res": None}],
         "videos": [], "store": "Howard Products", "categories": [], "details": {},
         "parent_asin": "B08BBQ29N5"},
    ]
    rev = _write(tmp_path / "All_Beauty.jsonl", "\n".join(json.dumps(r) for r in reviews))
    met = _write_gz(tmp_path / "meta_All_Beauty.jsonl.gz", [json.dumps(m) for m in meta])
    cat = load_amazon(rev, met, category="beauty products")
    assert cat.domain == "beauty products"
    assert list(cat.interactions["item_id"]) == ["B00YQ6X8EO", "B08BBQ29N5"]  # parent_asin
    assert list(cat.interactions["ts"]) == [1588687728, 1588615855]  # ms -> s
    item = cat.items.set_index("item_id").loc["B08BBQ29N5"]
    assert (item.brand, item.category, item.image) == (
        "Howard Products", "All Beauty", "https://m.media-amazon.com/l.jpg")


def test_2023_csv_with_header(tmp_path):
    path = _write(tmp_path / "Baby_Products.train.csv",
                  "user_id,parent_asin,rating,timestamp\nAE22,B07G,5.0,1588687728923\n")
    inter = load_amazon(path).interactions
    assert (inter.iloc[0].user_id, inter.iloc[0].item_id, inter.iloc[0].ts) == ("AE22", "B07G", 1588687728)


@pytest.mark.parametrize("lines, line, field, words", [
    (['{"reviewerID": "A1", "asin": "B1", "overall": 5.0, "unixReviewTime": 1}',
      '{"reviewerID": "A2", "asin": "B1", "overall": 4'], 2, None, "truncated"),
    (['{"reviewerID": "A1", "asin": "B1", "overall": "five", "unixReviewTime": 1}'],
     1, "overall", "expected a number"),
    (['{"reviewerID": "A1", "asin": "B1", "overall": 5.0}',
      '{"asin": "B2", "overall": 5.0}'], 2, "reviewerID", "missing"),
])
def test_malformed_reviews_name_file_line_field(tmp_path, lines, line, field, words):
    path = _write(tmp_path / "reviews_Baby.json", "\n".join(lines) + "\n")
    with pytest.raises(InputDataError) as err:
        load_amazon(path)
    assert (err.value.path, err.value.line, err.value.field) == (str(path), line, field)
    assert words in str(err.value)


def test_malformed_ratings_csv(tmp_path):
    path = _write(tmp_path / "ratings_Baby.csv", "A1,B000000001,5.0,1\nA2,B000000001,x,2\n")
    with pytest.raises(InputDataError, match="line 2, field 'rating'"):
        load_amazon(path)
    path.write_text("A1,B000000001,5.0,1\nA2,B000000001\n")
    with pytest.raises(InputDataError, match="line 2, field 'rating'.*expected 4 .truncated"):
        load_amazon(path)


def test_truncated_gzip_meta(tmp_path, amazon_2014):
    ratings, meta = amazon_2014
    data = meta.read_bytes()
    meta.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputDataError, match="truncated"):
        load_amazon(ratings, meta)


def test_empty_and_unknown_files(tmp_path):
    empty = _write(tmp_path / "ratings_Baby.csv", "")
    with pytest.raises(InputDataError, match="empty"):
        load_amazon(empty)
    odd = _write(tmp_path / "odd.json", '{"who": "A1", "what": "B1"}\n')
    with pytest.raises(InputDataError, match="unrecognised review record"):
        load_amazon(odd)


@pytest.mark.parametrize("name, domain", [
    ("ratings_Baby.csv", "Baby"), ("reviews_Clothing_Shoes_and_Jewelry_5.json.gz",
                                    "Clothing Shoes and Jewelry"),
    ("Sports_and_Outdoors_5.json.gz", "Sports and Outdoors"), ("All_Beauty.jsonl", "All Beauty"),
])
def test_domain_from_file_name(name, domain):
    assert domain_from(Path(name)) == domain
