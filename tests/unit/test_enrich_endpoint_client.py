"""The OpenAI-compatible clients against a local stub server with a real MiniLM behind it:
the embeddings client reproduces the local encoder's vectors, requests run concurrently (a
generous sanity bound here; ``python -m bench embed-paths`` checks the 0.9 x C / latency
target), and a failing or stalled batch fails alone, after the retry budget, with what
finished kept."""
from __future__ import annotations

import time

import numpy as np
import pytest

from mllmrec.enrich.backends import OpenAIBackend, Request
from mllmrec.enrich.endpoint import BatchFailed, Endpoint, EndpointEncoder, EndpointError
from tests.endpoint_stub import CHAT_REPLY, endpoint_stub, minilm, stub  # noqa: F401

TEXTS = [f"Title: Movie number {i} ({1950 + i % 50}). Category: {g}." for i, g in
         enumerate(["Comedy", "Drama", "Animation, Children's", "Film-Noir, Thriller"] * 10)]


def _client(stub, concurrency=2, batch_size=8, retries=0, timeout=10.0):  # noqa: F811
    return EndpointEncoder(Endpoint(stub.base_url, retries=retries, timeout=timeout, backoff=0.01),
                           "all-MiniLM-L6-v2", concurrency, batch_size)


def _reference(texts):
    return minilm().encode(texts, normalize_embeddings=True, convert_to_numpy=True)


@pytest.mark.parametrize("base64", ["answer", "ignore", "refuse"])
def test_endpoint_vectors_match_the_local_encoder(stub, base64):  # noqa: F811
    """Whether the server answers the base64 the client asks for, ignores the option
    (floats) or refuses it (HTTP 400: the probe asks again without it), the vectors are the
    local encoder's."""
    stub.base64 = base64
    client = _client(stub)
    try:
        assert client.dimensions == 384
        got = client.encode(TEXTS)
    finally:
        client.close()
    assert got.dtype == np.float32 and got.shape == (len(TEXTS), 384)
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-6)
    assert float(np.min(np.sum(got * _reference(TEXTS), axis=1))) >= 0.9999
    probes = 2 if base64 == "refuse" else 1
    assert client.encoding_format == (None if base64 == "refuse" else "base64")
    assert stub.count("/v1/embeddings") == probes + 5  # 40 texts in batches of 8


def test_requests_run_concurrently(stub):  # noqa: F811
    """C=4, 200 ms per answer, 16 requests: serial would take 3.2 s, a pool of 4 about 0.8 s.
    Asserted at half the target rate (10 req/s) so a loaded machine does not fail it."""
    latency, conc, n = 0.2, 4, 16
    client = _client(stub, concurrency=conc, batch_size=2)
    texts = TEXTS[:2 * n]
    stub.vectors(texts)  # encoded once up front: the timing measures the client
    try:
        _ = client.dimensions
        stub.reset(latency)
        t0 = time.perf_counter()
        client.encode(texts)
        embed_rate = n / (time.perf_counter() - t0)
    finally:
        client.close()
    backend = OpenAIBackend(stub.base_url, "m", concurrency=conc, backoff=0.01)
    try:
        t0 = time.perf_counter()
        replies = backend.generate([Request(f"profile user {i}") for i in range(n)])
        chat_rate = n / (time.perf_counter() - t0)
    finally:
        backend.close()
    assert [r.text for r in replies] == [CHAT_REPLY] * n
    assert stub.count("/v1/embeddings") == n
    assert embed_rate >= 0.5 * conc / latency, embed_rate
    assert chat_rate >= 0.5 * conc / latency, chat_rate


@pytest.mark.parametrize("mode", ["fail", "stall"])
def test_a_failing_batch_fails_alone_after_the_retries(stub, mode):  # noqa: F811
    client = _client(stub, concurrency=4, batch_size=8, retries=1, timeout=0.5)
    try:
        _ = client.dimensions
        bad = TEXTS[19]  # in the third batch of 8
        (stub.fail_texts if mode == "fail" else stub.stall_texts).add(bad)
        stub.stall_seconds = 2.0
        stub.requests.clear()
        with pytest.raises(BatchFailed) as err:
            client.encode(TEXTS)
    finally:
        client.close()
    failure = err.value
    assert failure.failed == range(16, 24) and failure.others == 0
    expected = "answered HTTP 500" if mode == "fail" else "did not answer within 0.5 s"
    assert expected in failure.reason and "gave up after 2 attempts" in failure.reason
    assert sorted(start for start, _ in failure.done) == [0, 8, 24, 32]
    assert len(stub.requests) == 5 + 1  # every batch once, the bad one retried once
    ref = _reference(TEXTS)
    for start, vectors in failure.done:
        assert float(np.min(np.sum(vectors * ref[start:start + 8], axis=1))) >= 0.9999


def test_a_stalled_chat_request_is_a_per_request_failure(stub):  # noqa: F811
    stub.reset(latency=1.0)
    backend = OpenAIBackend(stub.base_url, "m", retries=1, timeout=0.3, backoff=0.01)
    try:
        [reply] = backend.generate([Request("hi")])
    finally:
        backend.close()
    assert reply.failure is not None and reply.failure.kind == "endpoint_error"
    assert "did not answer within 0.3 s (gave up after 2 attempts)" in str(reply.failure)


def test_proxy_settings_of_the_environment_still_apply(stub, monkeypatch):  # noqa: F811
    """The environment is read once per session, not per request, but still read: a proxy
    that refuses connections fails the request, unless NO_PROXY exempts the host."""
    for name in ("HTTP_PROXY", "http_proxy", "NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")  # the discard port: refused
    with pytest.raises(EndpointError, match="cannot reach"):
        Endpoint(stub.base_url, retries=0).post("chat/completions", {"model": "m", "messages": []})
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    answer = Endpoint(stub.base_url, retries=0).post("chat/completions", {"model": "m", "messages": []})
    assert answer["choices"][0]["message"]["content"] == CHAT_REPLY
