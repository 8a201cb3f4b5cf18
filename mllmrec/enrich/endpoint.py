"""OpenAI-compatible HTTP endpoints: one JSON POST with retries, exponential backoff and a
timeout (shared by the chat backend of describe/profile and the embeddings client), and
:class:`EndpointEncoder`, which turns texts into vectors through ``/embeddings``.

The embeddings client is what ``enrich.embed_backend = "openai"`` runs: Hugging Face
text-embeddings-inference, vLLM and Ollama all serve the OpenAI request/response shape, so
the encoder can run on a GPU server while ``embed`` only writes vectors.
"""
from __future__ import annotations

import base64
import random
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mllmrec.provenance import fingerprint


class EndpointError(Exception):
    """A request that failed for good: a client error (``status`` holds its HTTP status), an
    unexpected answer, or a server that stayed unreachable, slow or failing for the whole
    retry budget."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Endpoint:
    """Where and how to POST: retries apply to connection errors, timeouts, HTTP 429 and 5xx,
    with exponential backoff (``backoff`` seconds doubled per attempt, capped at 30 s, with
    jitter); other HTTP errors and unparseable answers fail at once."""

    base_url: str
    api_key: str | None = None
    retries: int = 3
    timeout: float = 120.0
    backoff: float = 0.5
    _local: threading.local = field(default_factory=threading.local, repr=False, compare=False)

    def url(self, path: str) -> str:
        return self.base_url.rstrip("/") + "/" + path.lstrip("/")

    def post(self, path: str, payload: dict[str, Any]) -> Any:
        """The parsed JSON answer of one POST to ``base_url/path``; raises EndpointError."""
        import requests

        url = self.url(path)
        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        problem = ""
        for attempt in range(self.retries + 1):
            if attempt:
                time.sleep(min(self.backoff * 2 ** (attempt - 1), 30.0) * (1 + 0.25 * random.random()))
            try:
                resp = self._session().post(url, json=payload, headers=headers, timeout=self.timeout)
            except requests.Timeout:
                problem = f"{url} did not answer within {self.timeout:g} s"
                continue
            except requests.RequestException as exc:
                problem = f"cannot reach {url}: {type(exc).__name__}"
                continue
            if resp.status_code == 429 or resp.status_code >= 500:
                problem = f"{url} answered HTTP {resp.status_code}: {resp.text[:200]}"
                continue
            if resp.status_code != 200:  # a client error: retrying will not help
                raise EndpointError(f"{url} answered HTTP {resp.status_code}: {resp.text[:300]}",
                                    resp.status_code)
            try:
                return resp.json()
            except ValueError:
                raise EndpointError(f"{url} sent an unexpected answer: {resp.text[:300]}") from None
        raise EndpointError(f"{problem} (gave up after {self.retries + 1} attempts)")

    def _session(self) -> Any:
        """This thread's HTTP session: connections are kept alive between requests (a
        session is not shared between threads). What requests would read from the
        environment on every call (proxies, CA bundle, .netrc) is read once here: scanning
        the environment cost about as much client time per request as the JSON parse."""
        import requests
        from requests.utils import get_netrc_auth

        if not hasattr(self._local, "session"):
            session = requests.Session()
            found = session.merge_environment_settings(self.base_url, {}, None, None, None)
            session.proxies, session.verify = found["proxies"], found["verify"]
            if not self.api_key:
                session.auth = get_netrc_auth(self.base_url)
            session.trust_env = False
            self._local.session = session
        return self._local.session


@dataclass
class BatchFailed(Exception):
    """Some request batches of a chunk failed for good. ``done`` holds the vectors of the
    batches that finished (start offset in the chunk, vectors), so they can be written;
    ``failed`` the text offsets of the first failed batch; ``others`` how many more failed."""

    reason: str
    failed: Sequence[int]
    done: list[tuple[int, np.ndarray]] = field(default_factory=list)
    others: int = 0

    def __str__(self) -> str:
        return self.reason


class EndpointEncoder:
    """Sentence vectors from an OpenAI-compatible ``/embeddings`` endpoint.

    A chunk of texts is split into request batches of ``batch_size`` texts that run on a
    thread pool of ``concurrency``; each answer is checked (one vector per text, by
    ``index``, all of the expected dimension, finite, non-zero) and L2-normalised, as the
    local encoder's are. The dimension is learned from a one-text probe when first asked.
    Chunks are whole multiples of ``concurrency x batch_size`` texts so the pool stays full.

    Vectors travel as base64 little-endian float32 (``encoding_format``), as OpenAI's own
    client asks: JSON lists of floats cost the client about 15x more to parse (measured: 93
    ms against 6 ms for an answer of 128 384-d vectors), and the parse holds the interpreter
    lock, so at concurrency C the answers of a wave were parsed one after another while the
    pool waited. A server that ignores
    the option answers floats, which are read as well; one that refuses it with a client
    error is asked without it from then on (settled by the probe).
    """

    def __init__(self, endpoint: Endpoint, model: str, concurrency: int = 4,
                 batch_size: int = 128, min_chunk: int = 1_024) -> None:
        self.endpoint = endpoint
        self.model = model
        self.batch_size = batch_size
        wave = concurrency * batch_size
        self.chunk_size = -(-max(min_chunk, wave) // wave) * wave
        self.key = fingerprint("encoder", "openai", model)[:12]
        self.max_tokens: int | None = None  # the server's window is not known here
        self._dimensions: int | None = None
        self.encoding_format: str | None = "base64"
        self.pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="embed-endpoint")

    @property
    def dimensions(self) -> int:
        """Vector dimension (one probe request the first time; raises EndpointError)."""
        if self._dimensions is None:
            try:
                probe = self._request(["dimension probe"])
            except EndpointError as exc:
                if exc.status is None or not 400 <= exc.status < 500:
                    raise
                self.encoding_format = None  # refused base64: the plain request from now on
                probe = self._request(["dimension probe"])
            self._dimensions = int(probe.shape[1])
        return self._dimensions

    def _request(self, texts: list[str]) -> np.ndarray:
        payload: dict[str, Any] = {"model": self.model, "input": texts}
        if self.encoding_format is not None:
            payload["encoding_format"] = self.encoding_format
        answer = self.endpoint.post("embeddings", payload)
        where = self.endpoint.url("embeddings")
        try:
            data = sorted(answer["data"], key=lambda d: int(d["index"]))
            vectors = np.array([_vector(d["embedding"]) for d in data], dtype=np.float64)
        except (TypeError, KeyError, ValueError) as exc:
            raise EndpointError(f"{where} sent an unexpected answer ({type(exc).__name__}: "
                                f"{exc}): {str(answer)[:200]}") from None
        if vectors.ndim != 2 or len(vectors) != len(texts):
            raise EndpointError(f"{where} sent {len(vectors)} vectors for {len(texts)} texts")
        if self._dimensions is not None and vectors.shape[1] != self._dimensions:
            raise EndpointError(f"{where} sent {vectors.shape[1]}-dimensional vectors after "
                                f"{self._dimensions}-dimensional ones")
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        if not np.all(np.isfinite(norms)) or np.any(norms == 0):
            raise EndpointError(f"{where} sent a zero or non-finite vector")
        return (vectors / norms).astype(np.float32)

    def encode(self, texts: list[str]) -> np.ndarray:
        """L2-normalised float32 vectors, one row per text; raises BatchFailed (with the
        finished batches) when a batch fails for good."""
        dims = self.dimensions
        starts = range(0, len(texts), self.batch_size)
        futures = [self.pool.submit(self._request, texts[s:s + self.batch_size]) for s in starts]
        wait(futures)
        done, failed = [], []
        for start, future in zip(starts, futures):
            exc = future.exception()
            if exc is None:
                done.append((start, future.result()))
            elif isinstance(exc, EndpointError):
                failed.append((start, exc))
            else:
                raise exc
        if failed:
            start, exc = failed[0]
            raise BatchFailed(str(exc), range(start, min(start + self.batch_size, len(texts))),
                              done, len(failed) - 1)
        out = np.empty((len(texts), dims), dtype=np.float32)
        for start, vectors in done:
            out[start:start + len(vectors)] = vectors
        return out

    def token_lengths(self, texts: list[str]) -> list[int] | None:
        """Unknown: the tokenizer lives on the server."""
        return None

    def close(self) -> None:
        self.pool.shutdown(wait=True)


def _vector(embedding: Any) -> np.ndarray:
    """One answer's vector: a base64 string of little-endian float32, or a list of floats."""
    if isinstance(embedding, str):
        return np.frombuffer(base64.b64decode(embedding, validate=True), dtype="<f4")
    return np.asarray(embedding, dtype=np.float64)
