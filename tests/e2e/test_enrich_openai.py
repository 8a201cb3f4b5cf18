"""The openai backend against a local OpenAI-compatible server (started by the test) that
serves the tiny Qwen2-VL through real generation: images go inline, answers land in Neo4j
with provenance, overloaded answers are retried, an unreachable endpoint is counted per item
and never stops the run."""
from __future__ import annotations

import socket

import pytest

from mllmrec.enrich.describe import describe_items
from mllmrec.enrich.profile import profile_users
from tests.fixtures_models import chat_server, ingest, movie_catalogue, small_catalogue, tiny_vlm  # noqa: F401

pytestmark = pytest.mark.e2e

N_ITEMS, N_USERS = 6, 5


@pytest.fixture
def small(store, settings, movie_catalogue):  # noqa: F811
    ingest(store, settings.dataset, small_catalogue(movie_catalogue, N_ITEMS, N_USERS))
    return settings.dataset


def _openai(settings, base_url, **extra):
    return settings.with_overrides({
        "enrich.backend": "openai", "enrich.openai_base_url": base_url,
        "enrich.vlm_model": "tiny-qwen2-vl", "enrich.llm_model": "tiny-qwen2-vl",
        "enrich.openai_concurrency": 2, "enrich.max_new_tokens": 8, "enrich.gen_batch_size": 4,
        **{f"enrich.{k}": v for k, v in extra.items()}})


def test_describe_and_profile_through_an_openai_endpoint(store, settings, small, chat_server):  # noqa: F811
    s = _openai(settings, chat_server.base_url)
    chat_server.requests.clear()
    chat_server.fail_next = 2  # the first two answers are 503: retried with backoff
    described = describe_items(store, s)
    assert (described.generated, described.failed) == (N_ITEMS, 0)
    assert sum(c.image for c in chat_server.requests) == N_ITEMS + 2  # images sent inline
    profiled = profile_users(store, s)
    assert (profiled.generated, profiled.failed) == (N_USERS, 0)
    assert not any(c.image for c in chat_server.requests[N_ITEMS + 2:])  # text-only
    rows = store.run_text(
        "MATCH (i:Item {dataset: $d}) RETURN i.image_description AS t, i.description_model AS m",
        d=small)
    assert all(r["t"] and r["m"] == "tiny-qwen2-vl" for r in rows)
    rows = store.run_text(
        "MATCH (u:User {dataset: $d}) RETURN u.preference AS t, u.preference_model AS m", d=small)
    assert all(r["t"] and r["m"] == "tiny-qwen2-vl" for r in rows)
    assert describe_items(store, s).generated == 0 and profile_users(store, s).generated == 0


def test_unreachable_endpoint_is_counted_per_item(store, settings, small):
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    s = _openai(settings, f"http://127.0.0.1:{port}/v1", openai_retries=1)
    summary = describe_items(store, s)
    assert summary.failures["endpoint_error"] == N_ITEMS and summary.generated == 0
    assert all("cannot reach" in m and "2 attempts" in m for m in summary.messages)
    texts = store.run_text("MATCH (i:Item {dataset: $d}) RETURN i.text AS t", d=small)
    assert all(r["t"].startswith("Title: ") for r in texts)  # metadata text still written
    profiled = profile_users(store, s)
    assert profiled.failures["endpoint_error"] == N_USERS
