"""The int8 encoder (enrich.encoder_precision = "int8") against the fp32 shipped MiniLM, on
real MovieLens 100K texts: item texts as ``embed`` sees them with --no-llm (short) and
behavioural lists of real users (up to the encoder's window). Parity: mean cosine >= 0.99,
minimum >= 0.97. The fp32 reference is the encoder loaded directly, not through the code
under test, and the cosines are computed here with numpy."""
from __future__ import annotations

import numpy as np
import pytest

from mllmrec.enrich.embed import cosine_parity, encoder_key, load_encoder
from mllmrec.enrich.texts import behaviour_list, compact_entry, fuse_item_text
from tests.conftest import ML100K
from tests.endpoint_stub import minilm

N_ITEMS, N_USERS = 300, 60


@pytest.fixture(scope="module")
def texts() -> list[str]:
    if not (ML100K / "u.data").is_file():
        pytest.skip(f"MovieLens 100K not found at {ML100K}")
    from loaders.movielens import load_movielens

    cat = load_movielens(ML100K)
    items = {r["item_id"]: r for r in cat.items.to_dict("records")}
    item_texts = [fuse_item_text(r) for r in list(items.values())[:N_ITEMS]]
    inter = cat.interactions.sort_values(["user_id", "ts"])
    lists = [behaviour_list([compact_entry(items[i]) for i in group["item_id"]], 50, 800)
             for _, group in list(inter.groupby("user_id"))[:N_USERS]]
    return item_texts + lists


def test_int8_vectors_agree_with_fp32(texts):
    int8 = load_encoder("all-MiniLM-L6-v2", "cpu", "int8")
    got = int8.encode(texts, batch_size=64, normalize_embeddings=True, convert_to_numpy=True)
    ref = minilm().encode(texts, batch_size=64, normalize_embeddings=True, convert_to_numpy=True)
    cos = np.sum(got * ref, axis=1) / (np.linalg.norm(got, axis=1) * np.linalg.norm(ref, axis=1))
    assert cosine_parity(got, ref) == pytest.approx((cos.mean(), cos.min()), abs=1e-6)
    for part in (slice(0, N_ITEMS), slice(N_ITEMS, None)):  # short item texts, long lists
        assert cos[part].mean() >= 0.99 and cos[part].min() >= 0.97, (cos[part].mean(), cos[part].min())
    assert cos.mean() < 0.99999  # really quantised, not the fp32 model again
    kinds = {(type(m).__name__, m.in_features <= m.out_features) for m in int8.modules()
             if hasattr(m, "in_features")}
    assert kinds == {("FullRangeDynamicLinear", True), ("Linear", False)}  # down-projections fp32


def test_precision_is_part_of_the_embedding_key():
    assert encoder_key("all-MiniLM-L6-v2", "int8") != encoder_key("all-MiniLM-L6-v2")
    assert encoder_key("all-MiniLM-L6-v2") == encoder_key("all-MiniLM-L6-v2", "fp32")
