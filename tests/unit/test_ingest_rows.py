"""The per-user rows the ingest sends: flattening them back gives exactly the input."""
from __future__ import annotations

import numpy as np
import pandas as pd

from loaders.canonical import make_interactions
from mllmrec.ingest import interaction_rows


def test_rows_round_trip_with_slices_and_missing_values():
    rng = np.random.default_rng(0)
    users = ["heavy"] * 2500 + [f"u{k % 40}" for k in range(600)]
    items = [f"i{k}" for k in range(2500)] + [f"i{k}" for k in range(600)]
    rating = rng.integers(1, 6, len(users)).astype(float)
    rating[::7] = np.nan
    ts = pd.array(rng.integers(0, 2_000_000_000, len(users)), dtype="Int64")
    ts[::5] = pd.NA
    inter = make_interactions(pd.DataFrame({"user_id": users, "item_id": items, "rating": rating,
                                            "ts": ts, "split": rng.integers(0, 3, len(users))}))
    rows = interaction_rows(inter, max_items=1000)
    assert max(len(r["i"]) for r in rows) == 1000
    assert sum(r["u"] == "heavy" for r in rows) == 3  # 2500 -> 1000 + 1000 + 500
    assert len(rows) == 3 + 40
    flat = sorted((r["u"], i, rr, t, s) for r in rows for i, rr, t, s in zip(r["i"], r["r"], r["t"], r["s"]))
    want = sorted(
        (u, i, None if np.isnan(r) else float(r), None if pd.isna(t) else int(t), int(s))
        for u, i, r, t, s in zip(users, items, rating, ts, inter["split"]))
    assert flat == want
    assert all(type(v) in (float, type(None)) for r in rows for v in r["r"])
    assert all(type(v) in (int, type(None)) for r in rows for v in r["t"])
