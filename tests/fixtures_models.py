"""Fixtures for enrichment tests: a tiny Qwen2-VL built offline once per session, and small
datasets cut from the synthetic MovieLens files (``tests/synthetic.py``, with their posters)
that tests ingest themselves.

Import the fixtures into a test module with ``from tests.fixtures_models import ...``.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from loaders.canonical import Catalogue
from mllmrec.config import IngestSettings, Settings
from mllmrec.db import Store
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


def tiny_settings(settings: Settings, model: Path, **enrich: object) -> Settings:
    """The test's settings with the tiny model for both stages, short outputs, CPU."""
    return settings.with_overrides({
        "enrich.vlm_model": str(model), "enrich.llm_model": str(model),
        "enrich.max_new_tokens": 8, "enrich.gen_batch_size": 4, "enrich.device": "cpu",
        **{f"enrich.{k}": v for k, v in enrich.items()}})


class ChatServer:
    """A small OpenAI-compatible ``/v1/chat/completions`` server on 127.0.0.1 that answers
    with real generation from a local transformers model (images decoded from data URLs).
    ``fail_next`` makes the next N requests answer 503, as an overloaded server would."""

    def __init__(self, model: Path) -> None:
        import threading
        from http.server import ThreadingHTTPServer

        from mllmrec.enrich.backends import TransformersBackend

        self.backend = TransformersBackend(str(model), device="cpu")
        self.lock = threading.Lock()
        self.fail_next = 0
        self.requests: list[dict] = []
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.base_url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def _answer(self, body: dict) -> tuple[int, dict]:
        import base64
        import io

        from PIL import Image

        from mllmrec.enrich.backends import Request

        content = body["messages"][-1]["content"]
        prompt, image = content, None
        if not isinstance(content, str):
            prompt = " ".join(p["text"] for p in content if p["type"] == "text")
            for part in content:
                if part["type"] == "image_url":
                    data = part["image_url"]["url"].split(",", 1)[1]
                    image = Image.open(io.BytesIO(base64.b64decode(data))).convert("RGB")
        with self.lock:
            self.requests.append({"model": body["model"], "image": image is not None})
            if self.fail_next > 0:
                self.fail_next -= 1
                return 503, {"error": {"message": "overloaded"}}
            self.backend.max_new_tokens = int(body.get("max_tokens") or 16)
            reply = self.backend.generate([Request(prompt, image)])[0]
        if reply.failure is not None:
            return 500, {"error": {"message": str(reply.failure)}}
        return 200, {"object": "chat.completion", "model": body["model"], "choices": [
            {"index": 0, "message": {"role": "assistant", "content": reply.text},
             "finish_reason": "length"}]}

    def _handler(self):
        import json
        from http.server import BaseHTTPRequestHandler

        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server API
                if self.path != "/v1/chat/completions":
                    status, payload = 404, {"error": {"message": f"no route {self.path}"}}
                else:
                    body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                    status, payload = server._answer(body)
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        return Handler

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="session")
def chat_server(tiny_vlm: Path):
    server = ChatServer(tiny_vlm)
    try:
        yield server
    finally:
        server.close()
