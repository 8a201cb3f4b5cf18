"""describe-items through the real transformers path (tiny Qwen2-VL, poster files, real
Neo4j): descriptions and fused texts land with provenance, failures are counted per item,
a second run does no work and an interrupted run completes when run again."""
from __future__ import annotations

import pytest

from mllmrec.enrich.describe import describe_items
from mllmrec.enrich.texts import fuse_item_text
from tests.fixtures_models import ingest, movie_catalogue, small_catalogue, tiny_settings, tiny_vlm  # noqa: F401

pytestmark = pytest.mark.e2e

N_ITEMS = 10


@pytest.fixture
def broken_dataset(store, settings, movie_catalogue, tmp_path):  # noqa: F811
    """10 movies with posters, plus one whose poster file is missing, one whose poster
    is not an image, and one with no text at all."""
    corrupt = tmp_path / "corrupt.jpg"
    corrupt.write_bytes(b"this is not a JPEG")
    extra = [{"item_id": "missing", "title": "Lost Poster (1990)", "image": str(tmp_path / "nope.jpg")},
             {"item_id": "corrupt", "title": "Bad Poster (1991)", "image": str(corrupt)},
             {"item_id": "blank"}]
    ingest(store, settings.dataset, small_catalogue(movie_catalogue, N_ITEMS, 8, extra))
    return settings.dataset


def _items(store, dataset):
    rows = store.run_text(
        "MATCH (i:Item {dataset: $d}) RETURN i.id AS id, i.title AS title, i.category AS category,"
        " i.description AS description, i.image AS image, i.image_description AS image_description,"
        " i.text AS text, i.description_model AS model, i.description_prompt AS prompt,"
        " i.described_at IS NOT NULL AS dated", d=dataset)
    return {r["id"]: r for r in rows}


def test_describe_writes_descriptions_with_provenance_once(store, settings, broken_dataset, tiny_vlm):  # noqa: F811
    s = tiny_settings(settings, tiny_vlm)
    summary = describe_items(store, s)
    assert summary.total == N_ITEMS + 3
    assert summary.generated == N_ITEMS
    assert dict(summary.failures) == {"missing_image": 1, "unreadable_image": 1, "empty_text": 1}
    assert any("nope.jpg" in m and "not found" in m for m in summary.messages)
    items = _items(store, broken_dataset)
    for i in map(str, range(1, N_ITEMS + 1)):
        it = items[i]
        assert it["image_description"], i
        assert (it["model"], it["prompt"], it["dated"]) == (str(tiny_vlm), "v1", True)
        # fused text: labelled fields in the documented order, image description before the
        # free-text description, checked against the raw values
        expected = "\n".join(
            f"{label}: {value}" for label, value in
            [("Title", it["title"]), ("Category", it["category"]),
             ("Appearance", " ".join(it["image_description"].split())),
             ("Description", it["description"])] if value)
        assert it["text"] == expected
    # items that failed keep their metadata text; the blank item has none
    assert items["missing"]["text"] == "Title: Lost Poster (1990)"
    assert items["missing"]["image_description"] is None
    assert items["blank"]["text"] is None
    run = store.run("stage/last_success", dataset=broken_dataset, stage="describe")[0]
    assert '"generated": 10' in run["counts"]
    # a second run does no work: nothing generated, nothing written, nothing changed
    again = describe_items(store, s)
    assert (again.generated, again.written) == (0, 0)
    assert again.skipped == N_ITEMS + 1  # the described ones and the blank item (no image)
    assert _items(store, broken_dataset) == items


def test_interrupted_run_completes_on_rerun(store, settings, broken_dataset, tiny_vlm):  # noqa: F811
    s = tiny_settings(settings, tiny_vlm, gen_batch_size=3)

    def crash(summary):
        raise KeyboardInterrupt("killed after the first batch")

    with pytest.raises(KeyboardInterrupt):
        describe_items(store, s, on_batch=crash)
    first = [i for i, it in _items(store, broken_dataset).items() if it["image_description"]]
    assert len(first) == 3  # the first batch (items 1, 10, 2 in id order) survived the crash
    failed = store.run_text("MATCH (s:StageRun {dataset: $d, stage: 'describe'}) RETURN s.status AS st",
                            d=broken_dataset)
    assert [r["st"] for r in failed] == ["failed"]
    rest = describe_items(store, s)
    assert rest.generated == N_ITEMS - 3  # only the unfinished items were generated
    done = [i for i, it in _items(store, broken_dataset).items() if it["image_description"]]
    assert len(done) == N_ITEMS


def test_no_llm_text_is_metadata_only(store, settings, broken_dataset, tiny_vlm):  # noqa: F811
    describe_items(store, tiny_settings(settings, tiny_vlm))
    summary = describe_items(store, settings.with_overrides({"enrich.no_llm": True,
                                                             "enrich.vlm_model": "not/loaded"}))
    assert summary.generated == 0
    for it in _items(store, broken_dataset).values():
        assert it["text"] == (fuse_item_text({k: it[k] for k in ("title", "category", "description")}) or None)
        assert it["text"] is None or "Appearance" not in it["text"]
