"""Fixtures for enrichment tests: a tiny Qwen2-VL built offline once per session, and small
datasets cut from the synthetic MovieLens files (``tests/synthetic.py``, with their posters)
that tests ingest themselves.

Import the fixtures into a test module with ``from tests.fixtures_models import ...``.
"""
from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from loaders.canonical import Catalogue
from mllmrec.config import IngestSettings, Settings
from mllmrec.db import Store
from tests.endpoint_stub import ChatFailed, EndpointStub, chat_input
from tests.synthetic import SyntheticMovieLens


@pytest.fixture(scope="session")
def tiny_vlm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Folder of a tiny random Qwen2-VL (weights live in a temp dir, never in the repo)."""
    from tests.fixtures.tiny_models import build_tiny_qwen2_vl

    return build_tiny_qwen2_vl(tmp_path_factory.mktemp("tiny-qwen2-vl"))


@pytest.fixture(scope="session")
def movie_catalogue(synthetic_movielens: SyntheticMovieLens) -> Catalogue:
    """The synthetic MovieLens files read by the real loader, posters included."""
    from loaders.movielens import load_movielens

    return load_movielens(synthetic_movielens.folder, synthetic_movielens.posters)


def small_catalogue(cat: Catalogue, n_items: int = 20, n_users: int = 12,
                    extra_items: list[dict] | None = None) -> Catalogue:
    """Items 1..n_items of a MovieLens catalogue (titles, genres, posters) and the n_users
    users who rated most of them, with their interactions on those items. ``extra_items`` (dicts with
    item_id and fields) are added, each rated by the first user."""
    keep_items = [str(i) for i in range(1, n_items + 1)]
    inter = cat.interactions[cat.interactions["item_id"].isin(keep_items)]
    top = inter["user_id"].value_counts()
    users = sorted(top.index[:n_users], key=int)
    inter = inter[inter["user_id"].isin(users)]
    items = cat.items[cat.items["item_id"].isin(keep_items)]
    if extra_items:
        extra = pd.DataFrame(extra_items)
        items = pd.concat([items, extra], ignore_index=True)
        items = items.astype(object).where(items.notna(), None)
        add = pd.DataFrame({"user_id": users[0], "item_id": extra["item_id"].astype(str),
                            "rating": 4.0, "ts": 880000000})
        add["ts"] = add["ts"].astype("Int64")
        add["split"] = pd.array([pd.NA] * len(add), "Int8")
        inter = pd.concat([inter, add], ignore_index=True)
    return Catalogue(users=pd.DataFrame({"user_id": users}), items=items.reset_index(drop=True),
                     interactions=inter.reset_index(drop=True), domain=cat.domain,
                     source="movielens subset", meta={"format": "movielens"})


def ingest(store: Store, dataset: str, cat: Catalogue) -> None:
    from mllmrec.ingest import prepare, write

    s = IngestSettings()
    write(store, dataset, prepare(cat, s), s, {"format": "test-subset"})


def ingest_no_llm(store: Store, settings: Settings, cat: Catalogue) -> Settings:
    """Ingest ``cat`` as ``settings.dataset`` and give every item and user its --no-llm text
    (describe, profile): ready for ``embed``. Returns the no-LLM settings."""
    from mllmrec.enrich.describe import describe_items
    from mllmrec.enrich.profile import profile_users

    ingest(store, settings.dataset, cat)
    s = settings.with_overrides({"enrich.no_llm": True})
    describe_items(store, s)
    profile_users(store, s)
    return s


def tiny_settings(settings: Settings, model: Path, **enrich: object) -> Settings:
    """The test's settings with the tiny model for both stages, short outputs, CPU."""
    return settings.with_overrides({
        "enrich.vlm_model": str(model), "enrich.llm_model": str(model),
        "enrich.max_new_tokens": 8, "enrich.gen_batch_size": 4, "enrich.device": "cpu",
        **{f"enrich.{k}": v for k, v in enrich.items()}})


def tiny_vlm_chat(model: Path) -> Callable[[dict[str, Any]], str]:
    """A chat function for :class:`tests.endpoint_stub.EndpointStub` that answers with real
    generation from a local transformers model (images decoded from data URLs), one request
    at a time, ``max_tokens`` as asked."""
    from mllmrec.enrich.backends import Request, TransformersBackend

    backend = TransformersBackend(str(model), device="cpu")
    lock = threading.Lock()

    def reply(body: dict[str, Any]) -> str:
        prompt, image = chat_input(body)
        with lock:
            backend.max_new_tokens = int(body.get("max_tokens") or 16)
            out = backend.generate([Request(prompt, image)])[0]
        if out.failure is not None:
            raise ChatFailed(str(out.failure))
        return out.text

    return reply


@pytest.fixture(scope="session")
def chat_server(tiny_vlm: Path) -> Iterator[EndpointStub]:
    """The stub server answering chat requests with the tiny Qwen2-VL (no embeddings)."""
    server = EndpointStub(chat=tiny_vlm_chat(tiny_vlm))
    try:
        yield server
    finally:
        server.close()
