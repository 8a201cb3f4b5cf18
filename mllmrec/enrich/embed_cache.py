"""A file of text vectors shared by every dataset (``enrich.embed_cache``).

Encoding is the slow part of ``embed`` (on 2 CPU cores, Amazon Sports' 35,598 user texts take
12 minutes), and the same texts come back: the same catalogue ingested under another name,
a dataset wiped and rebuilt, a benchmark repeating a split. :class:`CachedEncoder` wraps any
encoder and reads the vector of a text it has seen before instead of encoding it again. A
vector is found by the SHA-256 of the encoder key (model, precision, backend) and the text, so
another encoder never sees it. The file is SQLite: several processes may share it.

A cached vector is the one the encoder computed for that text in another batch; batching
moves float rounding only (as ``embed_batch_size`` does), not what a text says.
"""
from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from mllmrec.enrich.endpoint import BatchFailed

if TYPE_CHECKING:  # embed.py wraps its encoders in this class
    from mllmrec.enrich.embed import TextEncoder

LOOKUP = 500  # texts per SELECT: SQLite's bound-parameter limit is 999 on old builds


class CachedEncoder:
    """``inner`` with a vector file in front: only texts the file lacks are encoded."""

    def __init__(self, inner: TextEncoder, path: Path) -> None:
        self.inner = inner
        self.key, self.chunk_size, self.max_tokens = inner.key, inner.chunk_size, inner.max_tokens
        path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(path, timeout=120, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("CREATE TABLE IF NOT EXISTS vectors (key TEXT PRIMARY KEY, vector BLOB)")
        self.hits = self.misses = 0

    @property
    def dimensions(self) -> int:
        return self.inner.dimensions

    def _keys(self, texts: list[str]) -> list[str]:
        return [hashlib.sha256(f"{self.key}\0{t}".encode()).hexdigest() for t in texts]

    def encode(self, texts: list[str]) -> np.ndarray:
        """The vectors of ``texts``: read from the file, or encoded by ``inner`` and stored."""
        keys = self._keys(texts)
        found: dict[str, np.ndarray] = {}
        for start in range(0, len(keys), LOOKUP):
            part = keys[start:start + LOOKUP]
            marks = ",".join("?" * len(part))
            for k, blob in self.db.execute(f"SELECT key, vector FROM vectors WHERE key IN ({marks})", part):
                found[k] = np.frombuffer(blob, dtype=np.float32)
        todo = [i for i, k in enumerate(keys) if k not in found]
        if todo:
            try:
                fresh = np.asarray(self.inner.encode([texts[i] for i in todo]), dtype=np.float32)
            except BatchFailed as failure:
                raise self._failed(failure, keys, found, todo) from None
            self._store([keys[i] for i in todo], fresh)
            found.update((keys[i], v) for i, v in zip(todo, fresh))
        self.hits += len(texts) - len(todo)
        self.misses += len(todo)
        return np.stack([found[k] for k in keys]) if keys else np.zeros((0, self.dimensions), np.float32)

    def _store(self, keys: list[str], vectors: np.ndarray) -> None:
        with self.db:
            self.db.executemany("INSERT OR IGNORE INTO vectors VALUES (?, ?)",
                                [(k, np.asarray(v, dtype=np.float32).tobytes())
                                 for k, v in zip(keys, vectors)])

    def _failed(self, failure: BatchFailed, keys: list[str], found: dict[str, np.ndarray],
                todo: list[int]) -> BatchFailed:
        """``failure`` of the texts passed on (``todo``) as a failure of the whole chunk: the
        finished batches are kept in the file and, with the cached texts, given back by
        their offsets in the chunk, so the embed loop writes them all."""
        done = [(i, found[k][None]) for i, k in enumerate(keys) if k in found]
        for start, vectors in failure.done:
            self._store([keys[todo[start + j]] for j in range(len(vectors))], vectors)
            done += [(todo[start + j], vectors[j:j + 1]) for j in range(len(vectors))]
        return BatchFailed(failure.reason, [todo[i] for i in failure.failed], done, failure.others)

    def token_lengths(self, texts: list[str]) -> list[int] | None:
        return self.inner.token_lengths(texts)

    def close(self) -> None:
        self.db.close()
        self.inner.close()
