"""The vector file in front of an encoder (``enrich.embed_cache``), with the embeddings
client and a stub server with a real MiniLM behind it, so the texts actually encoded can be
counted: a text seen before is not encoded again and comes back with its vector, another
encoder never reads it, and a failed batch keeps what finished."""
from __future__ import annotations

import numpy as np
import pytest

from mllmrec.enrich.embed_cache import CachedEncoder
from mllmrec.enrich.endpoint import BatchFailed, Endpoint, EndpointEncoder
from tests.endpoint_stub import endpoint_stub, minilm, stub  # noqa: F401

TEXTS = [f"Title: Product {i}. Brand: B{i % 7}. Category: Sports, Outdoors {i % 3}." for i in range(40)]


def _cached(stub, path, model="all-MiniLM-L6-v2", retries=0):  # noqa: F811
    client = EndpointEncoder(Endpoint(stub.base_url, retries=retries, backoff=0.01), model, 2, 8)
    return CachedEncoder(client, path)


def _reference(texts):
    return minilm().encode(texts, normalize_embeddings=True, convert_to_numpy=True)


def _encode_once(stub, path, texts, model="all-MiniLM-L6-v2"):  # noqa: F811
    """A new process's encoder on the file: the vectors of ``texts`` and the encoder (for its
    counts), the stub's request log holding only this encode."""
    enc = _cached(stub, path, model)
    try:
        _ = enc.dimensions
        stub.requests.clear()
        return enc.encode(texts), enc
    finally:
        enc.close()


def test_seen_texts_are_read_back_and_only_new_ones_encoded(stub, tmp_path):  # noqa: F811
    path = tmp_path / "vectors.sqlite"
    a, first = _encode_once(stub, path, TEXTS)
    assert (first.hits, first.misses) == (0, 40) and stub.count("/v1/embeddings") == 5
    assert float(np.min(np.sum(a * _reference(TEXTS), axis=1))) >= 0.9999
    # another process later: shuffled old texts and 3 new ones, in one chunk
    new = [f"A text never seen {i}" for i in range(3)]
    order = np.random.default_rng(0).permutation(40)
    b, second = _encode_once(stub, path, [TEXTS[i] for i in order] + new)
    assert (second.hits, second.misses) == (40, 3) and stub.count("/v1/embeddings") == 1
    np.testing.assert_array_equal(b[:40], a[order])  # the stored vectors themselves
    assert float(np.min(np.sum(b[40:] * _reference(new), axis=1))) >= 0.9999
    # another encoder (here: another model name) never reads them
    _, other = _encode_once(stub, path, TEXTS[:5], model="another-encoder")
    assert (other.hits, other.misses) == (0, 5)


def test_a_failed_batch_keeps_what_finished_at_its_offsets_in_the_chunk(stub, tmp_path):  # noqa: F811
    """8 texts cached; of the 32 sent on, the batch holding text 19 fails: the failure names
    chunk offsets 16-23, gives back every other text's vector at its own offset, and keeps
    the finished ones in the file, so the next run encodes only the failed batch."""
    path = tmp_path / "vectors.sqlite"
    enc = _cached(stub, path)
    try:
        enc.encode(TEXTS[:8])
        stub.fail_texts.add(TEXTS[19])  # batches of 8 of the 32 passed on: 8-15 fails
        with pytest.raises(BatchFailed) as err:
            enc.encode(TEXTS)
    finally:
        enc.close()
        stub.reset()
    failure = err.value
    assert list(failure.failed) == list(range(16, 24))
    offsets = sorted(start for start, _ in failure.done)
    assert offsets == [i for i in range(40) if not 16 <= i < 24]
    ref = _reference(TEXTS)
    for start, vectors in failure.done:
        assert vectors.shape == (1, 384) and float(vectors[0] @ ref[start]) >= 0.9999
    _, again = _encode_once(stub, path, TEXTS)
    assert (again.hits, again.misses) == (32, 8)
