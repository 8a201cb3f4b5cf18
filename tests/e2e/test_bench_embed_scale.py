"""The embed-scale bench's parts on a small enriched dataset: the embed stage's per-kind
figures (texts and tokens counted independently with the encoder's tokenizer), the int8
re-embed of every text, the encoder-alone reference and the rows that compare them."""
from __future__ import annotations

import pytest

from bench.embed_scale import _texts, embed_again, encoder_alone, precision_rows
from mllmrec.enrich.embed import embed_texts, load_encoder
from tests.fixtures_models import ingest_no_llm, movie_catalogue, small_catalogue  # noqa: F401

pytestmark = pytest.mark.e2e

N_ITEMS, N_USERS = 24, 10


@pytest.fixture
def enriched(store, settings, movie_catalogue):  # noqa: F811
    return ingest_no_llm(store, settings, small_catalogue(movie_catalogue, N_ITEMS, N_USERS))


def test_per_kind_figures_int8_reembed_and_rows(store, enriched):
    extra = embed_texts(store, enriched).extra
    tokenizer = load_encoder(enriched.enrich.encoder, "cpu").tokenizer
    texts = {kind: _texts(store, enriched.dataset, kind) for kind in ("item", "user")}
    assert len(texts["item"]) == N_ITEMS and len(texts["user"]) == N_USERS
    for kind, rows in texts.items():
        assert extra[f"{kind}s_encoded"] == len(rows)
        assert extra[f"{kind}s_seconds"] > 0
        # tokens read, counted here with the tokenizer itself (special tokens, no truncation)
        want = sum(len(ids) for ids in tokenizer(rows, truncation=False)["input_ids"])
        assert extra[f"{kind}s_tokens"] == want
    # the same precision again encodes nothing; int8 re-encodes every text
    assert embed_texts(store, enriched).generated == 0
    int8 = embed_again(store, enriched.with_overrides({"enrich.encoder_precision": "int8"}))
    assert {k: v["count"] for k, v in int8.items()} == {"item": N_ITEMS, "user": N_USERS}

    ref = encoder_alone(enriched, {k: v[:5] for k, v in texts.items()}, "int8")
    assert [len(v) for v in ref["vectors"]] == [5, 5]
    rows = precision_rows("int8", int8, ref, max_seconds=1e-9)
    assert [r["stage"] for r in rows] == ["embed items, int8 (stage)", "embed users, int8 (stage)",
                                          "embed, int8, whole catalogue"]
    # each kind's reference is the encoder-alone rate scaled to the stage's count of texts
    for r, kind in zip(rows, ("item", "user")):
        assert r["reference_seconds"] == pytest.approx(len(texts[kind]) / ref[kind]["texts_per_s"])
    assert rows[-1]["ok"] is False  # an impossible time target is reported as missed
