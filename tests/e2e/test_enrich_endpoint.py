"""embed through an OpenAI-compatible /embeddings endpoint into the real Neo4j: a local stub
server with the real MiniLM behind it (tests/endpoint_stub.py). The endpoint's vectors equal
the local encoder's (cosine >= 0.9999, reference computed here with the directly loaded
encoder); backend and precision are part of embedding_hash, so switching re-embeds; a failing
or stalled batch stops the run naming its items after the retries, with every finished batch
written whole and the failed one not at all, and the next run resumes."""
from __future__ import annotations

import numpy as np
import pytest

from mllmrec.enrich.embed import embed_texts
from mllmrec.errors import StageError
from mllmrec.schema import ensure_vector_indexes
from tests.conftest import run_cli
from tests.endpoint_stub import endpoint_stub, minilm, stub  # noqa: F401
from tests.fixtures_models import ingest_no_llm, movie_catalogue, small_catalogue  # noqa: F401

pytestmark = pytest.mark.e2e

N_ITEMS, N_USERS = 20, 12


@pytest.fixture
def enriched(store, settings, movie_catalogue):  # noqa: F811
    return ingest_no_llm(store, settings, small_catalogue(movie_catalogue, N_ITEMS, N_USERS))


def _endpoint(settings, stub, **extra):  # noqa: F811
    return settings.with_overrides({
        "enrich.embed_backend": "openai", "enrich.embed_base_url": stub.base_url,
        "enrich.openai_concurrency": 2, "enrich.embed_batch_size": 4, "enrich.openai_retries": 1,
        **{f"enrich.{k}": v for k, v in extra.items()}})


def _stored(store, dataset):
    rows = store.run_text(
        "MATCH (i:Item {dataset: $d}) RETURN 'item' AS kind, i.id AS id, i.text AS text, "
        "i.embedding AS v, i.embedding_hash AS h UNION ALL "
        "MATCH (u:User {dataset: $d}) RETURN 'user' AS kind, u.id AS id, u.preference AS text, "
        "u.embedding AS v, u.embedding_hash AS h", d=dataset)
    return {(r["kind"], r["id"]): r for r in rows}


def _assert_reference_vectors(rows):
    texts = [r["text"] for r in rows]
    ref = minilm().encode(texts, normalize_embeddings=True, convert_to_numpy=True)
    got = np.array([r["v"] for r in rows], dtype=np.float64)
    cos = np.sum(got * ref, axis=1) / np.linalg.norm(got, axis=1)
    assert cos.min() >= 0.9999, cos.min()


def test_endpoint_embeds_like_the_local_encoder_and_switching_reembeds(
        store, neo4j_settings, enriched, stub):  # noqa: F811
    d = ["--dataset", enriched.dataset]
    res = run_cli([*d, "embed", "--backend", "openai", "--base-url", stub.base_url,
                   "--concurrency", "2", "--batch-size", "4"], neo4j_settings)
    assert res.exit_code == 0 and f"{N_ITEMS + N_USERS} generated" in res.output, res.output
    stored = _stored(store, enriched.dataset)
    _assert_reference_vectors(list(stored.values()))
    assert len({r["h"].split(":")[0] for r in stored.values()}) == 1
    # 1 probe + ceil(20 / 4) + ceil(12 / 4) requests
    assert stub.count("/v1/embeddings") == 1 + 5 + 3
    assert embed_texts(store, _endpoint(enriched, stub)).generated == 0
    local = embed_texts(store, enriched)  # another backend: every text again
    assert (local.extra["items_encoded"], local.extra["users_encoded"]) == (N_ITEMS, N_USERS)
    int8 = embed_texts(store, enriched.with_overrides({"enrich.encoder_precision": "int8"}))
    assert (int8.extra["items_encoded"], int8.extra["users_encoded"]) == (N_ITEMS, N_USERS)
    assert int8.extra["precision"] == "int8"
    keys = {r["h"].split(":")[0] for r in _stored(store, enriched.dataset).values()}
    assert len(keys) == 1 and keys.isdisjoint(r["h"].split(":")[0] for r in stored.values())


@pytest.mark.parametrize("mode", ["fail", "stall"])
def test_failing_endpoint_names_the_items_and_writes_finished_batches(
        store, enriched, stub, mode):  # noqa: F811
    items = {r["id"]: r["text"] for r in store.run_text(
        "MATCH (i:Item {dataset: $d}) RETURN i.id AS id, i.text AS text", d=enriched.dataset)}
    (stub.fail_texts if mode == "fail" else stub.stall_texts).add(items["7"])
    stub.stall_seconds = 2.0
    s = _endpoint(enriched, stub, openai_timeout=0.5)
    with pytest.raises(StageError) as err:
        embed_texts(store, s)
    message = str(err.value)
    assert message.startswith("embedding items ")
    assert ("answered HTTP 500" if mode == "fail" else "did not answer within 0.5 s") in message
    assert "gave up after 2 attempts" in message and "run embed again" in message
    stored = _stored(store, enriched.dataset)
    missing = sorted(i for (kind, i), r in stored.items() if kind == "item" and r["v"] is None)
    assert "7" in missing and len(missing) == 4  # exactly the failed batch of 4
    named = message.split(" failed")[0][len("embedding items "):].split(", ")
    assert sorted(named) == missing
    written = [r for (kind, _), r in stored.items() if kind == "item" and r["v"] is not None]
    assert len(written) == N_ITEMS - 4
    _assert_reference_vectors(written)
    assert all(r["v"] is None for (kind, _), r in stored.items() if kind == "user")
    stub.reset()
    resumed = embed_texts(store, s)
    assert (resumed.extra["items_encoded"], resumed.extra["users_encoded"]) == (4, N_USERS)
    _assert_reference_vectors(list(_stored(store, enriched.dataset).values()))


def test_vectors_of_another_dimension_are_refused(store, enriched, stub):  # noqa: F811
    ensure_vector_indexes(store, 384)
    stub.dimensions = 8
    with pytest.raises(StageError, match=r"has dimension 384 but the encoder gives 8"):
        embed_texts(store, _endpoint(enriched, stub))
    assert all(r["v"] is None for r in _stored(store, enriched.dataset).values())
