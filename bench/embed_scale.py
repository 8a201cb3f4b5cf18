"""Section ``embed-scale`` (``python -m bench embed-scale``): embedding at paper scale on real
texts (issue 21, item 1).

``paper-scale`` writes synthetic vectors and so never runs the encoder; this section runs it
where it dominates:

1. the whole pipeline without an LLM on the real Amazon Sports catalogue
   (``$MLLMREC_DATA/amazon-sports``: 18,357 keyword item texts, 35,598 behavioural-list user
   texts), ingest to a converged MLLMRec, with the paper's Sports graph settings; the embed
   stage in fp32, items and users timed on their own (texts/s, tokens/s);
2. the same embed again in int8 (``enrich.encoder_precision``: every text is re-encoded,
   since the precision is part of ``embedding_hash``);
3. the encoder alone (no database, no chunking, no writes) on a seeded random sample of the
   same texts, per kind and precision: the reference each stage rate is divided by (target:
   the stage reaches >= 0.8x the encoder alone), and the fp32/int8 cosine parity on the
   sample (targets: mean >= 0.99, min >= 0.97);
4. synthetic texts of LLM-paragraph length (~100-150 tokens, words drawn from the catalogue's
   own texts), through the encoder alone in both precisions, projected to the Sports count of
   texts: what embed costs when describe and profile ran a real LLM.

The dataset is dropped at the end. Quiet-machine targets come from the issue: int8 embeds the
whole catalogue in <= 10 minutes on 2 cores.
"""
from __future__ import annotations

import logging
import random
import time
from typing import Any

import numpy as np

from bench.common import load_average, measure
from bench.context import Context
from bench.options import PROFILES
from bench.paper_scale import row
from bench.stages import run_stages
from mllmrec.config import Settings
from mllmrec.dataset import drop_dataset
from mllmrec.db import Store

log = logging.getLogger(__name__)

SOURCE = "amazon-sports"
KINDS = ("item", "user")
MIN_RATIO = 0.8  # stage texts/s over the encoder alone on the same texts
INT8_MAX_SECONDS = 600.0  # the whole Sports-size embed in int8, 2 cores
PARITY_MEAN, PARITY_MIN = 0.99, 0.97
LLM_WORDS = (90, 140)  # words per synthetic paragraph: ~100-150 MiniLM tokens


def section(ctx: Context) -> None:
    """The real Sports catalogue through the pipeline, embed in both precisions, references."""
    o = ctx.options
    log.info("== embed-scale on %s", SOURCE)
    result: dict[str, Any] = {}

    def save(_: Any = None) -> None:
        ctx.save("embed-scale", result)

    run_embed_scale(ctx.store, ctx.settings, o.seed, sample=0.02 if o.quick else 0.05,
                    llm_texts=100 if o.quick else 500, out=result, on_part=save)
    save()


def run_embed_scale(store: Store, base: Settings, seed: int, sample: float, llm_texts: int,
                    out: dict[str, Any], on_part: Any = None) -> dict[str, Any]:
    """Fill ``out`` with the pipeline's stage rows, the embed rows of both precisions beside
    their references, the parity and the LLM-length projection (see the module docstring);
    ``on_part`` is called after each part so a stopped run keeps what it measured."""
    sports = {k: v for k, v in PROFILES["sports"].items() if k.startswith("graph.")}
    settings = base.with_overrides({"dataset": "bench-embed-scale", "ingest.seed": seed,
                                    "train.seed": seed, "enrich.encoder_precision": "fp32",
                                    **sports})
    out.update(seed=seed, sample_fraction=sample, load_average_start=load_average(),
               graph={k.split(".", 1)[1]: v for k, v in sports.items()}, rows=[])
    done = on_part or (lambda: None)
    try:
        with measure() as m:
            stages, trained = run_stages(store, settings, SOURCE, train_model=True)
        out["stages"] = stages
        out["pipeline_seconds"] = m.seconds
        out["epochs"] = trained["epochs"] if trained else None
        done()
        texts = {kind: _texts(store, settings.dataset, kind) for kind in KINDS}
        picked = {kind: _sample(rows, sample, seed) for kind, rows in texts.items()}
        out["counts"] = {kind: len(rows) for kind, rows in texts.items()}
        reference = {p: encoder_alone(settings, picked, p) for p in ("fp32", "int8")}
        mean, low = _parity(reference["fp32"]["vectors"], reference["int8"]["vectors"])
        out["parity"] = {"mean_cosine": mean, "min_cosine": low,
                         "texts": sum(len(v) for v in picked.values())}
        fp32 = {r["kind"]: r for r in stages if r.get("kind")}
        out["rows"] += precision_rows("fp32", fp32, reference["fp32"])
        done()
        int8 = embed_again(store, settings.with_overrides({"enrich.encoder_precision": "int8"}))
        out["rows"] += precision_rows("int8", int8, reference["int8"],
                                      max_seconds=INT8_MAX_SECONDS)
        out["rows"].append(row(
            f"int8 vs fp32 parity on {out['parity']['texts']:,} sampled texts", None,
            conditions=[(f"mean cosine >= {PARITY_MEAN}", mean >= PARITY_MEAN),
                        (f"min cosine >= {PARITY_MIN}", low >= PARITY_MIN)],
            note=f"mean {mean:.4f}, min {low:.4f}"))
        done()
        total = sum(out["counts"].values())
        out["llm_length"] = llm_length(settings, texts["item"], llm_texts, seed, total)
        out["rows"] += [row(f"LLM-length texts, encoder alone, {p}: {total:,} texts (projected)",
                            v["projected_seconds"],
                            note=f"{v['texts_per_s']:.1f} texts/s on {v['texts']:,} synthetic "
                                 f"texts of {v['tokens_per_text']:.0f} tokens")
                        for p, v in out["llm_length"].items()]
    finally:
        drop_dataset(store, settings.dataset)
        out["load_average_end"] = load_average()
    return out


def _texts(store: Store, dataset: str, kind: str) -> list[str]:
    """Every text of ``kind`` the embed stage encodes (an encoder key no vector carries)."""
    return [r["text"] for r in store.run(f"enrich/{kind}s_to_embed", dataset=dataset,
                                         encoder_key="bench-every-text")]


def _sample(texts: list[str], fraction: float, seed: int) -> list[str]:
    return random.Random(seed).sample(texts, max(1, round(len(texts) * fraction)))


def encoder_alone(settings: Settings, picked: dict[str, list[str]], precision: str) -> dict[str, Any]:
    """Texts/s of the loaded encoder on each kind's sample, longest first as the stage feeds
    it, and the vectors (for the parity)."""
    from mllmrec.enrich.embed import encode, load_encoder, token_lengths

    model = load_encoder(settings.enrich.encoder, "cpu", precision)
    out: dict[str, Any] = {"vectors": []}
    for kind, texts in picked.items():
        ordered = sorted(texts, key=len, reverse=True)
        tokens = sum(token_lengths(model, ordered))
        t0 = time.perf_counter()
        vectors = encode(model, ordered, settings.enrich.embed_batch_size)
        seconds = time.perf_counter() - t0
        out[kind] = {"texts": len(ordered), "seconds": seconds, "texts_per_s": len(ordered) / seconds,
                     "tokens_per_s": tokens / seconds}
        out["vectors"].append(vectors)
    return out


def _parity(a: list[np.ndarray], b: list[np.ndarray]) -> tuple[float, float]:
    from mllmrec.enrich.embed import cosine_parity

    return cosine_parity(np.concatenate(a), np.concatenate(b))


def embed_again(store: Store, settings: Settings) -> dict[str, dict[str, Any]]:
    """The real embed stage over the dataset again (every text, the precision changed):
    per kind, the row fields ``precision_rows`` reads."""
    from mllmrec.enrich.embed import embed_texts

    extra = embed_texts(store, settings).extra
    out = {}
    for kind in KINDS:
        n, s, tokens = extra[f"{kind}s_encoded"], extra[f"{kind}s_seconds"], extra[f"{kind}s_tokens"]
        out[kind] = {"count": n, "seconds": s, "throughput": n / s if s else None,
                     "tokens_per_s": tokens / s if tokens and s else None}
    return out


def precision_rows(precision: str, stage: dict[str, dict[str, Any]], reference: dict[str, Any],
                   max_seconds: float | None = None) -> list[dict[str, Any]]:
    """One row per kind (stage texts/s over the encoder alone, target >= MIN_RATIO) and the
    total, with ``max_seconds`` as its target when given."""
    rows = []
    for kind in KINDS:
        s, ref = stage[kind], reference[kind]
        rate = s["throughput"]
        rows.append(row(
            f"embed {kind}s, {precision} (stage)", s["seconds"], s["count"] / ref["texts_per_s"],
            f"encoder alone on a {ref['texts']:,}-text sample, x{s['count'] / ref['texts']:.1f}",
            conditions=[(f"texts/s >= {MIN_RATIO} x encoder alone",
                         rate >= MIN_RATIO * ref["texts_per_s"])],
            note=f"{s['count']:,} texts, {rate:.1f} texts/s"
                 + (f", {s['tokens_per_s']:,.0f} tokens/s" if s.get("tokens_per_s") else "")
                 + f"; encoder alone {ref['texts_per_s']:.1f} texts/s"))
    total = sum(stage[k]["seconds"] for k in KINDS)
    rows.append(row(f"embed, {precision}, whole catalogue", total, max_seconds=max_seconds,
                    note=f"{sum(stage[k]['count'] for k in KINDS):,} texts"))
    return rows


def llm_length(settings: Settings, item_texts: list[str], n: int, seed: int,
               project_to: int) -> dict[str, dict[str, Any]]:
    """The encoder alone on ``n`` synthetic paragraphs of LLM length (words drawn from the
    catalogue's item texts), per precision, projected to ``project_to`` texts."""
    from mllmrec.enrich.embed import encode, load_encoder, token_lengths

    rng = random.Random(seed)
    words = [w for t in item_texts for w in t.split()]
    paragraphs = [" ".join(rng.choices(words, k=rng.randint(*LLM_WORDS))) for _ in range(n)]
    out = {}
    for precision in ("fp32", "int8"):
        model = load_encoder(settings.enrich.encoder, "cpu", precision)
        lengths = token_lengths(model, paragraphs)
        t0 = time.perf_counter()
        encode(model, paragraphs, settings.enrich.embed_batch_size)
        rate = n / (time.perf_counter() - t0)
        out[precision] = {"texts": n, "tokens_per_text": float(np.mean(lengths)),
                          "texts_per_s": rate, "projected_seconds": project_to / rate}
    return out
