"""Item text fusion, behavioural lists and prompt files (pure functions, hand-computed
expectations)."""
from __future__ import annotations

import pytest

from mllmrec.enrich.prompts import render
from mllmrec.enrich.texts import behaviour_list, compact_entry, fuse_item_text, list_entry, text_hash
from mllmrec.errors import ConfigError

ITEM = {"title": "Trail Shoe X", "brand": "  Acme ", "category": "Sports > Running",
        "description": "Light  shoe\nfor trails.", "image_description": "A red mesh shoe."}


def test_fused_text_order_puts_image_description_before_long_description():
    assert fuse_item_text(ITEM) == ("Title: Trail Shoe X\nBrand: Acme\nCategory: Sports > Running\n"
                                    "Appearance: A red mesh shoe.\nDescription: Light shoe for trails.")


def test_fused_text_skips_missing_fields_and_can_leave_out_the_image_description():
    assert fuse_item_text({"title": "T", "brand": None, "category": " ", "description": "D"}) == \
        "Title: T\nDescription: D"
    assert "Appearance" not in fuse_item_text(ITEM, with_image_description=False)
    assert fuse_item_text({}) == ""


def test_list_entries():
    assert list_entry("Title: A\nCategory: B") == "Title: A; Category: B"
    assert compact_entry({"title": "Heat (1995)", "category": "Action, Crime"}) == "Heat (1995) (Action, Crime)"
    assert compact_entry({"title": "Heat (1995)"}) == "Heat (1995)"


def test_behaviour_list_keeps_most_recent_items_oldest_first():
    entries = ["one", "two", "three", "four"]
    assert behaviour_list(entries, 10, 1000) == "1. one\n2. two\n3. three\n4. four"
    assert behaviour_list(entries, 2, 1000) == "1. three\n2. four"
    # budget: each line costs len + 6; "four" (10) + "three" (11) = 21 fits 21, "two" does not
    assert behaviour_list(entries, 10, 21) == "1. three\n2. four"
    assert behaviour_list(entries, 10, 20) == "1. four"
    assert behaviour_list(["x" * 50], 10, 16) == "1. " + "x" * 10  # a lone long entry is cut
    assert behaviour_list([], 10, 100) == ""


def test_text_hash_is_stable_and_sensitive():
    assert text_hash("abc") == text_hash("abc") != text_hash("abd")


def test_prompts_are_versioned_files():
    text = render("describe_item", "v1", domain="movies", title="Heat (1995)")
    assert '"Heat (1995)"' in text and "movies" in text and "{" not in text
    assert "1. a" in render("profile_user", "v1", domain="movies", history="1. a")
    with pytest.raises(ConfigError, match="describe_item.v1.txt"):
        render("describe_item", "v9", domain="x", title="y")
