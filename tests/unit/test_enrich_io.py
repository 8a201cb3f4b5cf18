"""Images (local files, URLs cached once, downscaling, clear failures) and the OpenAI
client's handling of HTTP answers, against real files and a real local HTTP server."""
from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from PIL import Image

from mllmrec.enrich.backends import OpenAIBackend, Request
from mllmrec.enrich.images import cached_path, load_image
from mllmrec.enrich.report import ItemFailure


class _Server:
    """Serves fixed (status, body) answers and counts requests."""

    def __init__(self, status: int, body: bytes, content_type: str = "application/json") -> None:
        self.calls = 0
        outer = self

        class H(BaseHTTPRequestHandler):
            def _send(self) -> None:
                outer.calls += 1
                if self.command == "POST":
                    self.rfile.read(int(self.headers["Content-Length"]))
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = _send

            def log_message(self, *a: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def poster(synthetic_movielens) -> Path:
    """A JPEG poster of the synthetic MovieLens dataset (64 x 96 pixels)."""
    return synthetic_movielens.posters / "images" / "1.jpg"


def test_local_image_is_downscaled_keeping_aspect(poster, tmp_path):
    w, h = Image.open(poster).size
    img = load_image(str(poster), tmp_path, max_pixels=(w * h) // 4)
    assert img.mode == "RGB"
    assert img.size[0] * img.size[1] <= (w * h) // 4
    assert abs(img.size[0] / img.size[1] - w / h) < 0.05
    assert load_image(str(poster), tmp_path, max_pixels=w * h).size == (w, h)


def test_missing_and_unreadable_images_fail_clearly(tmp_path):
    with pytest.raises(ItemFailure, match="not found") as e:
        load_image(str(tmp_path / "nope.jpg"), tmp_path, 10_000)
    assert e.value.kind == "missing_image"
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"\x00garbage")
    with pytest.raises(ItemFailure, match="cannot read") as e:
        load_image(str(bad), tmp_path, 10_000)
    assert e.value.kind == "unreadable_image"


def test_url_is_fetched_once_into_the_cache(poster, tmp_path):
    server = _Server(200, poster.read_bytes(), "image/jpeg")
    url = f"{server.url}/p/1.jpg?size=big"
    try:
        first = load_image(url, tmp_path / "cache", 10**7)
        load_image(url, tmp_path / "cache", 10**7)
        assert server.calls == 1
    finally:
        server.close()
    assert cached_path(url, tmp_path / "cache").suffix == ".jpg"
    again = load_image(url, tmp_path / "cache", 10**7)  # server gone: served from the cache
    assert list(again.getdata()) == list(first.getdata())
    with pytest.raises(ItemFailure, match="cannot fetch") as e:
        load_image(f"{server.url}/other.jpg", tmp_path / "cache", 10**7, timeout=2)
    assert e.value.kind == "missing_image"


def test_openai_client_errors_are_replies_not_exceptions():
    bad_request = _Server(400, b'{"error": "bad model"}')
    garbage = _Server(200, b"not json")
    overloaded = _Server(503, b"busy")
    try:
        backend = OpenAIBackend(bad_request.url + "/v1", "m", retries=3, backoff=0.01)
        [reply] = backend.generate([Request("hi")])
        assert reply.failure.kind == "endpoint_error" and "HTTP 400" in str(reply.failure)
        assert bad_request.calls == 1  # client errors are not retried
        [reply] = OpenAIBackend(garbage.url + "/v1", "m", backoff=0.01).generate([Request("hi")])
        assert "unexpected answer" in str(reply.failure)
        [reply] = OpenAIBackend(overloaded.url + "/v1", "m", retries=2, backoff=0.01).generate([Request("hi")])
        assert "HTTP 503" in str(reply.failure) and overloaded.calls == 3
    finally:
        for s in (bad_request, garbage, overloaded):
            s.close()


def test_openai_payload_carries_the_image_inline(poster):
    backend = OpenAIBackend("http://127.0.0.1:9/v1", "m", max_new_tokens=7)
    payload = backend._payload(Request("describe", Image.open(poster).convert("RGB")))
    parts = payload["messages"][0]["content"]
    assert parts[0]["image_url"]["url"].startswith("data:image/jpeg;base64,")
    assert parts[1] == {"type": "text", "text": "describe"}
    assert (payload["max_tokens"], payload["temperature"]) == (7, 0)
    json.dumps(payload)
    backend.close()
