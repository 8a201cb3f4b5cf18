"""The three ways to embed, measured without the database (section ``embed-paths``): the
local encoder in fp32 and in int8 (``enrich.encoder_precision``; texts/s, and the cosine
parity of int8 with fp32 on the same texts), and the endpoint clients against the local stub
server of the tests (``tests/endpoint_stub.py``, in its own process as a real server is) with
a fixed latency: with concurrency C the embeddings client and the chat client of
describe/profile must reach 0.9 x C / latency requests per second.

Local texts are ML-100K item texts as ``embed`` sees them with --no-llm, cycled to
``--embed-texts``; fp32 and int8 alternate for ``--embed-repeats`` rounds (median texts/s).
Each endpoint client sends C x WAVES requests, ``--embed-repeats`` times (median rate; the
first round of each client is untimed, so the stub has its texts encoded and the
connections are open). ``--quick``: 256 texts, one round.
"""
from __future__ import annotations

import logging
import statistics
import time
from typing import Any

from bench.common import DATA, load_average
from bench.context import Context
from bench.options import Options

log = logging.getLogger(__name__)

#: Requests per client and round: C x WAVES (each thread sends WAVES requests in turn).
WAVES = 4
#: Endpoint rate target, as a fraction of C / latency.
RATE_TARGET = 0.9
#: int8 against fp32 cosine on the same texts: mean and minimum.
PARITY_TARGETS = {"parity_mean_cosine": 0.99, "parity_min_cosine": 0.97}


def section(ctx: Context) -> None:
    """Local fp32 / int8, then the endpoint clients; saved after each part."""
    o = ctx.options
    out: dict[str, Any] = {"load_average_start": load_average()}
    log.info("== embed-paths: local encoder on %d texts, %d round(s)", o.embed_texts, o.embed_repeats)
    out["local"] = local_precisions(item_texts(o.embed_texts), o.embed_repeats, batch_size=128)
    ctx.save("embed-paths", out)
    log.info("== embed-paths: endpoint clients, latency %g s, C in %s", o.endpoint_latency,
             o.endpoint_concurrency)
    out["endpoint"] = endpoint_rates(o)
    out["load_average_end"] = load_average()
    ctx.save("embed-paths", out)


def item_texts(n: int) -> list[str]:
    """``n`` ML-100K item texts (no-LLM fused form), cycled."""
    from loaders.movielens import load_movielens
    from mllmrec.enrich.texts import fuse_item_text

    texts = [fuse_item_text(r) for r in load_movielens(DATA / "ml-100k").items.to_dict("records")]
    return [texts[i % len(texts)] for i in range(n)]


def local_precisions(texts: list[str], repeats: int, batch_size: int) -> dict[str, Any]:
    """fp32 and int8 texts/s (median of interleaved rounds) and their cosine parity."""
    from mllmrec.enrich.embed import cosine_parity, encode, load_encoder

    models = {p: load_encoder("all-MiniLM-L6-v2", "cpu", p) for p in ("fp32", "int8")}
    rates: dict[str, list[float]] = {p: [] for p in models}
    vectors = {}
    for _ in range(repeats):
        for precision, model in models.items():
            t0 = time.perf_counter()
            vectors[precision] = encode(model, texts, batch_size)
            rates[precision].append(len(texts) / (time.perf_counter() - t0))
    mean, low = cosine_parity(vectors["int8"], vectors["fp32"])
    fp32, int8 = (statistics.median(rates[p]) for p in ("fp32", "int8"))
    return {"texts": len(texts), "batch_size": batch_size, "repeats": repeats,
            "fp32_texts_per_s": round(fp32, 1), "int8_texts_per_s": round(int8, 1),
            "int8_speedup": round(int8 / fp32, 2), "parity_mean_cosine": round(mean, 4),
            "parity_min_cosine": round(low, 4)}


def _serve(latency: float, conn: Any) -> None:
    """The stub server in its own process (as a real server is), until told to stop."""
    from tests.endpoint_stub import EndpointStub, minilm

    stub = EndpointStub(minilm(), latency)
    conn.send(stub.base_url)
    conn.recv()
    stub.close()


def endpoint_rates(o: Options) -> dict[str, Any]:
    """Requests/s of the embeddings and chat clients against the stub (another process, so
    the server's threads do not share this process's interpreter lock), per concurrency:
    the median over ``o.embed_repeats`` rounds, and each round's ratio to C / latency."""
    import multiprocessing

    spawn = multiprocessing.get_context("spawn")
    here, there = spawn.Pipe()
    server = spawn.Process(target=_serve, args=(o.endpoint_latency, there))
    server.start()
    rows = []
    try:
        base_url = here.recv()
        for conc in o.endpoint_concurrency:
            rows.append(_rates(base_url, conc, o.endpoint_latency, o.embed_repeats))
            log.info("C=%d: %s", conc, rows[-1])
    finally:
        here.send("stop")
        server.join(timeout=30)
    return {"latency": o.endpoint_latency, "waves": WAVES, "repeats": o.embed_repeats,
            "rows": rows}


def _rates(base_url: str, conc: int, latency: float, repeats: int) -> dict[str, Any]:
    from mllmrec.enrich.backends import OpenAIBackend, Request
    from mllmrec.enrich.endpoint import Endpoint, EndpointEncoder

    n = conc * WAVES
    texts = [f"text {i} of a short item description" for i in range(2 * n)]
    prompts = [Request(f"prompt {i}") for i in range(n)]
    client = EndpointEncoder(Endpoint(base_url), "m", conc, batch_size=2, min_chunk=2 * n)
    chat = OpenAIBackend(base_url, "m", concurrency=conc)
    ideal = conc / latency
    ratios: dict[str, list[float]] = {"embed": [], "chat": []}
    try:
        client.encode(texts)
        chat.generate(prompts)
        for _ in range(repeats):
            for path, run in (("embed", lambda: client.encode(texts)),
                              ("chat", lambda: chat.generate(prompts))):
                t0 = time.perf_counter()
                run()
                ratios[path].append(n / (time.perf_counter() - t0) / ideal)
    finally:
        client.close()
        chat.close()
    row: dict[str, Any] = {"concurrency": conc, "requests": n, "ideal_per_s": round(ideal, 1)}
    for path, values in ratios.items():
        ratio = statistics.median(values)
        row |= {f"{path}_per_s": round(ratio * ideal, 1), f"{path}_ratio": round(ratio, 3),
                f"{path}_ratios": [round(v, 3) for v in values]}
    return row


# --------------------------------------------------------------------------- report


def _verdict(ok: bool) -> str:
    return "yes" if ok else "**NO**"


def local_rows(local: dict[str, Any]) -> list[list[Any]]:
    """Report cells (measure, value, target, met) of the local encoder: texts/s of each
    precision and the int8 / fp32 parity against its targets."""
    rows: list[list[Any]] = [
        ["fp32 texts/s", f"{local['fp32_texts_per_s']:.1f}", "-", "-"],
        ["int8 texts/s", f"{local['int8_texts_per_s']:.1f}", "-", "-"],
        ["int8 / fp32 speed", f"{local['int8_speedup']:.2f}", "-", "-"]]
    for k, target in PARITY_TARGETS.items():
        rows.append([k.replace("_", " ").replace("parity", "int8 vs fp32"), f"{local[k]:.4f}",
                     f">= {target}", _verdict(local[k] >= target)])
    return rows


def endpoint_rows(endpoint: dict[str, Any]) -> list[list[Any]]:
    """Report cells (client, C, requests, C / latency, req/s, ratio, ratio per round, target,
    met) of the endpoint clients: one row per client and concurrency."""
    return [[path, r["concurrency"], r["requests"], f"{r['ideal_per_s']:.1f}",
             f"{r[f'{path}_per_s']:.1f}", f"{r[f'{path}_ratio']:.3f}",
             " / ".join(f"{v:.2f}" for v in r.get(f"{path}_ratios", [])) or "-",
             f">= {RATE_TARGET}", _verdict(r[f"{path}_ratio"] >= RATE_TARGET)]
            for path in ("embed", "chat") for r in endpoint["rows"]]
