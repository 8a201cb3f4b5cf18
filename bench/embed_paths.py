"""The three ways to embed, measured without the database: the local encoder in fp32, the
local encoder in int8 (``enrich.encoder_precision``; texts/s and parity with fp32 on the
same texts), and the endpoint clients against the local stub server of the tests
(``tests/endpoint_stub.py``) with a fixed latency: with concurrency C the embeddings client
and the chat client of describe/profile must reach 0.9 x C / latency requests per second.

    python -m bench.embed_paths [--texts 2000] [--repeats 3] [--latency 0.2] [--json out.json]

Texts are ML-100K item texts as ``embed`` sees them with --no-llm (cycled to ``--texts``).
Exits 1 when an endpoint rate misses its target. Prints the load average: figures from a
busy machine are labelled by it.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

TARGET = 0.9
DATA = Path(os.environ.get("MLLMREC_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))


def item_texts(n: int) -> list[str]:
    """``n`` ML-100K item texts (no-LLM fused form), cycled."""
    from loaders.movielens import load_movielens
    from mllmrec.enrich.texts import fuse_item_text

    texts = [fuse_item_text(r) for r in load_movielens(DATA / "ml-100k").items.to_dict("records")]
    return [texts[i % len(texts)] for i in range(n)]


def local_precisions(texts: list[str], repeats: int, batch_size: int) -> dict[str, Any]:
    """fp32 and int8 texts/s (median of interleaved repeats) and their cosine parity."""
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
    return {"texts": len(texts), "fp32_texts_per_s": round(fp32, 1),
            "int8_texts_per_s": round(int8, 1), "int8_speedup": round(int8 / fp32, 2),
            "parity_mean_cosine": round(mean, 4), "parity_min_cosine": round(low, 4)}


def _serve(latency: float, conn: Any) -> None:
    """The stub server in its own process (as a real server is), until told to stop."""
    from tests.endpoint_stub import EndpointStub, minilm

    stub = EndpointStub(minilm(), latency)
    conn.send(stub.base_url)
    conn.recv()
    stub.close()


def endpoint_rates(latency: float, concurrencies: list[int], waves: int) -> list[dict[str, Any]]:
    """Requests/s of the embeddings and chat clients against the stub (another process, so
    the server's threads do not share this process's interpreter lock), per concurrency.
    Each client first sends the same texts once untimed, so the stub has them encoded."""
    import multiprocessing

    from mllmrec.enrich.backends import OpenAIBackend, Request
    from mllmrec.enrich.endpoint import Endpoint, EndpointEncoder

    here, there = multiprocessing.get_context("spawn").Pipe()
    server = multiprocessing.get_context("spawn").Process(target=_serve, args=(latency, there))
    server.start()
    out = []
    try:
        base_url = here.recv()
        for conc in concurrencies:
            n = conc * waves
            texts = [f"text {i} of a short item description" for i in range(2 * n)]
            client = EndpointEncoder(Endpoint(base_url), "m", conc, batch_size=2, min_chunk=2 * n)
            chat = OpenAIBackend(base_url, "m", concurrency=conc)
            try:
                client.encode(texts)
                t0 = time.perf_counter()
                client.encode(texts)
                embed = n / (time.perf_counter() - t0)
                t0 = time.perf_counter()
                chat.generate([Request(f"prompt {i}") for i in range(n)])
                gen = n / (time.perf_counter() - t0)
            finally:
                client.close()
                chat.close()
            ideal = conc / latency
            out.append({"concurrency": conc, "requests": n, "ideal_per_s": round(ideal, 1),
                        "embed_per_s": round(embed, 1), "embed_ratio": round(embed / ideal, 3),
                        "chat_per_s": round(gen, 1), "chat_ratio": round(gen / ideal, 3)})
    finally:
        here.send("stop")
        server.join(timeout=30)
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.embed_paths", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--texts", type=int, default=2_000)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--latency", type=float, default=0.2)
    p.add_argument("--concurrency", type=int, nargs="+", default=[1, 4, 8])
    p.add_argument("--waves", type=int, default=4, help="requests per client = C x waves")
    p.add_argument("--skip-local", action="store_true")
    p.add_argument("--json", type=Path)
    args = p.parse_args(argv)

    result: dict[str, Any] = {"load_average_start": [round(x, 2) for x in os.getloadavg()]}
    if not args.skip_local:
        result["local"] = local_precisions(item_texts(args.texts), args.repeats, args.batch_size)
        print("local encoder:", json.dumps(result["local"]))
    result["endpoint"] = endpoint_rates(args.latency, args.concurrency, args.waves)
    result["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
    ok = all(r[f"{k}_ratio"] >= TARGET for r in result["endpoint"] for k in ("embed", "chat"))
    print(f"endpoint, latency {args.latency:g} s (target {TARGET} x C / latency):")
    for r in result["endpoint"]:
        print(f"  C={r['concurrency']:>2}: embed {r['embed_per_s']:6.1f} req/s ({r['embed_ratio']:.2f}), "
              f"chat {r['chat_per_s']:6.1f} req/s ({r['chat_ratio']:.2f}), ideal {r['ideal_per_s']}")
    print(f"load average {result['load_average_start']} -> {result['load_average_end']}; "
          f"endpoint target {'met' if ok else 'MISSED'}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
