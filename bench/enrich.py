"""Enrichment throughput on MovieLens 100K, each number next to a reference measured in the
same run on the same inputs without the database:

- describe (tiny Qwen2-VL built offline, real posters): items/s of the ``describe`` stage vs
  the same backend's ``generate`` called directly on the same prompts and images;
- embed (all-MiniLM-L6-v2): sentences/s of the ``embed`` stage on the 1,682 item texts vs
  ``SentenceTransformer.encode`` called directly on the same texts (aim: the stage >= 0.8x the
  encoder alone), first on a fresh database, then warm (median of ``--repeats`` runs), and
  once on the 943 longer user texts;
- describe/profile --no-llm: items/s and users/s of the metadata-only path.

Run by the ``components`` section (``--quick``: 16 items described); writes only its own
temporary datasets.
"""
from __future__ import annotations

import logging
import os
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from bench import queries
from bench.common import DATA, measure
from loaders.canonical import Catalogue
from mllmrec.config import IngestSettings, Settings
from mllmrec.db import Store

log = logging.getLogger(__name__)


def _ingest(store: Store, name: str, cat: Catalogue) -> None:
    from mllmrec.ingest import prepare, write

    s = IngestSettings()
    write(store, name, prepare(cat, s), s, {"format": "bench"})


def _subset(cat: Catalogue, n_items: int) -> Catalogue:
    keep = {str(i) for i in range(1, n_items + 1)}
    inter = cat.interactions[cat.interactions["item_id"].isin(keep)].reset_index(drop=True)
    users = inter[["user_id"]].drop_duplicates().reset_index(drop=True)
    return Catalogue(users=users, items=cat.items[cat.items["item_id"].isin(keep)], interactions=inter,
                     domain=cat.domain, source=cat.source, meta=cat.meta)


def _row(name: str, count: int, seconds: float, unit: str, ref: float | None = None,
         **extra: Any) -> dict[str, Any]:
    rate = count / seconds if seconds else float("inf")
    out = {"name": name, "count": count, "seconds": round(seconds, 2), "unit": unit,
           "per_second": round(rate, 1), "load_average": round(os.getloadavg()[0], 1), **extra}
    if ref:
        out["reference_per_second"] = round(ref, 1)
        out["ratio_to_reference"] = round(rate / ref, 3)
    return out


def bench_describe(store: Store, base: Settings, cat: Catalogue, n_items: int, batch: int) -> dict[str, Any]:
    """The describe stage with the tiny model vs direct generation on the same inputs."""
    from mllmrec.dataset import drop_dataset
    from mllmrec.enrich.backends import Request, TransformersBackend
    from mllmrec.enrich.describe import PROMPT_TASK, describe_items
    from mllmrec.enrich.images import load_image
    from mllmrec.enrich.prompts import render
    from tests.fixtures.tiny_models import build_tiny_qwen2_vl

    sub = _subset(cat, n_items)
    name = f"bench-describe-{uuid.uuid4().hex[:6]}"
    with tempfile.TemporaryDirectory() as tmp:
        model = build_tiny_qwen2_vl(Path(tmp) / "tiny")
        s = base.with_overrides({"dataset": name, "enrich.vlm_model": str(model), "enrich.device": "cpu",
                                 "enrich.max_new_tokens": 16, "enrich.gen_batch_size": batch,
                                 "enrich.image_cache": str(Path(tmp) / "img")})
        _ingest(store, name, sub)
        try:
            with measure() as stage:
                summary = describe_items(store, s)
            items = sub.items[sub.items["image"].notna()]
            backend = TransformersBackend(str(model), "cpu", 16)
            reqs = [Request(render(PROMPT_TASK, "v1", domain="movies", title=t),
                            load_image(p, Path(tmp), s.enrich.image_max_pixels))
                    for t, p in zip(items["title"], items["image"])]
            t0 = time.perf_counter()
            for i in range(0, len(reqs), batch):
                backend.generate(reqs[i:i + batch])
            direct = time.perf_counter() - t0
        finally:
            drop_dataset(store, name)
    return _row("describe, tiny Qwen2-VL (stage, incl. model load)", summary.generated,
                stage.seconds, "items", len(reqs) / direct, batch=batch, max_new_tokens=16)


def bench_text_stages(store: Store, base: Settings, cat: Catalogue, repeats: int = 3) -> list[dict[str, Any]]:
    """describe --no-llm, embed of the ML-100K item texts vs the encoder alone on the same
    texts, then profile --no-llm.

    The embed stage is timed twice over: its first run on a fresh database (it creates the
    vector indexes, and Neo4j compiles each of its queries once), then ``repeats`` warm runs
    (the dataset's vectors removed before each), each right after the encoder alone on the
    same texts; the ratio compares the medians, so the two sides see the same machine."""
    from mllmrec.dataset import drop_dataset
    from mllmrec.enrich.describe import describe_items
    from mllmrec.enrich.embed import embed_texts, encode, encoder_key, load_encoder
    from mllmrec.enrich.profile import profile_users

    name = f"bench-embed-{uuid.uuid4().hex[:6]}"
    s = base.with_overrides({"dataset": name, "enrich.no_llm": True})
    _ingest(store, name, cat)
    rows = []
    try:
        with measure() as m:
            d = describe_items(store, s)
        rows.append(_row("describe --no-llm (metadata text)", d.total, m.seconds, "items"))
        texts = [r["text"] for r in store.run("enrich/items_to_embed", dataset=name,
                                              encoder_key=encoder_key(s.enrich.encoder))]
        with measure() as m_load:  # once per process: the stage below reuses it
            encoder = load_encoder(s.enrich.encoder, "cpu")
        encode(encoder, texts[:256], s.enrich.embed_batch_size)  # warm-up

        def alone(some: list[str]) -> float:
            t0 = time.perf_counter()
            encode(encoder, some, s.enrich.embed_batch_size)
            return time.perf_counter() - t0

        def stage() -> tuple[float, Any]:
            with measure() as m:  # no user has a preference yet: the stage encodes the items only
                e = embed_texts(store, s)
            return m.seconds, e

        first_ref = alone(texts)
        first, e = stage()
        warm: list[tuple[float, float, Any]] = []
        for _ in range(repeats):
            queries.run(store, "clear_item_embeddings", dataset=name)
            ref = alone(texts)
            warm.append((ref, *stage()))
        ref_s = statistics.median(w[0] for w in warm)
        stage_s = statistics.median(w[1] for w in warm)
        inside = statistics.median(w[2].extra["encode_seconds"] for w in warm)
        n = e.extra["items_encoded"]
        detail = dict(batch=s.enrich.embed_batch_size, truncated=e.extra["truncated"],
                      tokens_per_text=e.extra["tokens_per_text"])
        rows.append(_row("embed stage, first run on a fresh database (creates the vector indexes; "
                         "incl. DB I/O)", n, first, "sentences", len(texts) / first_ref,
                         write_wait_seconds=e.extra["write_wait_seconds"], **detail))
        rows.append(_row(f"embed stage, warm (median of {repeats}; incl. DB I/O; encoder loaded "
                         "once per process, see the load row)", n, stage_s, "sentences",
                         len(texts) / ref_s, repeats=repeats,
                         stage_seconds=[round(w[1], 2) for w in warm],
                         reference_seconds=[round(w[0], 2) for w in warm],
                         write_wait_seconds=statistics.median(
                             w[2].extra["write_wait_seconds"] for w in warm), **detail))
        rows.append(_row("encoder load (once per process)", 1, m_load.seconds, "loads"))
        rows.append(_row("  of which inside the encoder (warm, median)", n, inside, "sentences",
                         len(texts) / ref_s))
        rows.append(_row("encoder alone on the same texts (reference, median)", len(texts),
                         ref_s, "sentences"))
        with measure() as m:
            p = profile_users(store, s)
        rows.append(_row("profile --no-llm (behavioural list)", p.total, m.seconds, "users"))
        user_texts = [r["text"] for r in store.run("enrich/users_to_embed", dataset=name,
                                                   encoder_key=encoder_key(s.enrich.encoder))]
        user_ref = alone(user_texts)
        user_s, u = stage()  # the items are done: the stage encodes the user texts only
        rows.append(_row("embed stage, ML-100K user texts (--no-llm lists, longer; one warm run)",
                         u.extra["users_encoded"], user_s, "sentences", len(user_texts) / user_ref,
                         truncated=u.extra["truncated"], tokens_per_text=u.extra["tokens_per_text"],
                         write_wait_seconds=u.extra["write_wait_seconds"]))
    finally:
        drop_dataset(store, name)
    return rows


def run(store: Store, settings: Settings, describe_items_n: int = 48, batch: int = 8,
        quick: bool = False, repeats: int = 3) -> list[dict[str, Any]]:
    """All enrichment benchmarks; one dict per measured component."""
    from loaders.movielens import load_movielens

    cat = load_movielens(DATA / "ml-100k", DATA / "movielens-posters")
    rows = [bench_describe(store, settings, cat, 16 if quick else describe_items_n, batch)]
    return rows + bench_text_stages(store, settings, cat, repeats)
