"""Ingestion: a validated catalogue, optionally k-core filtered and split, written to Neo4j.

Everything is checked before the first write. Writes are batched UNWIND MERGEs keyed on
(dataset, id), so re-running an ingest (after a crash, or on the same files) converges to
the same graph without duplicates. Interactions go one row per user (parallel lists), and a
dataset's very first ingest CREATEs them (nothing to merge with; a third less server work);
any later run, such as the re-run of an interrupted ingest, MERGEs.

Incremental ingest: when the dataset already holds interactions (pass them to
:func:`prepare` via :func:`existing_splits`), those keep their split labels and only the new
ones are labelled (:func:`mllmrec.preprocess.split_incremental`); nothing is deleted.

Cold-start protocol (``ingest.cold_items`` / ``ingest.cold_users``,
:func:`mllmrec.preprocess.split_cold`): the held-out items and users are marked ``cold: true``
on their nodes and the protocol is stored on the Dataset node (``cold_items``, ``cold_users``,
``cold_given``, ``cold_seed``), where training, ``runs`` and ``status`` read it. The cold split
is made once over the whole catalogue: re-running the same ingest repeats it, but new data,
another protocol, or a warm ingest into a cold dataset (and the reverse) is refused.
"""
from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from loaders.canonical import ITEM_METADATA, Catalogue, dedupe_latest, validate
from mllmrec.config import IngestSettings, Settings
from mllmrec.db import Store
from mllmrec.errors import ConfigError, InputDataError
from mllmrec.preprocess import kcore, split_cold, split_incremental, split_per_user
from mllmrec.provenance import fingerprint, stage_run
from mllmrec.schema import init_schema

log = logging.getLogger(__name__)


@dataclass
class IngestReport:
    users: int
    items: int
    interactions: int
    splits: dict[int, int]
    seconds: float
    cold_items: int = 0  # items held out by the cold-start protocol
    cold_users: int = 0

    @property
    def rate(self) -> float:
        return self.interactions / self.seconds if self.seconds else float("inf")


def existing_splits(store: Store, dataset: str) -> pd.DataFrame:
    """The dataset's labelled interactions (user_id, item_id, split); empty when new."""
    rows = store.run("ingest/existing_splits", dataset=dataset)
    return pd.DataFrame(rows, columns=["user_id", "item_id", "split"])


def cold_protocol(settings: IngestSettings) -> dict[str, Any] | None:
    """The cold-start protocol an ingest with ``settings`` makes, as stored on the Dataset
    node (None: the warm split)."""
    if not settings.cold:
        return None
    return {"cold_items": settings.cold_items, "cold_users": settings.cold_users,
            "cold_given": settings.cold_given, "cold_seed": settings.seed}


def stored_cold_protocol(store: Store, dataset: str) -> dict[str, Any] | None:
    """The cold-start protocol the dataset was split with (None: warm, or no dataset)."""
    rows = store.run("ingest/cold_protocol", dataset=dataset)
    return rows[0]["protocol"] if rows and rows[0]["protocol"] else None


def prepare(cat: Catalogue, settings: IngestSettings, existing: pd.DataFrame | None = None,
            stored_protocol: dict[str, Any] | None = None) -> Catalogue:
    """Validate, filter (rating threshold, k-core) and split; no database involved.
    ``existing``: interactions already in the dataset, whose labels are kept (incremental);
    ``stored_protocol``: the dataset's cold-start protocol (:func:`stored_cold_protocol`)."""
    cat = validate(cat)
    inter = cat.interactions
    if settings.implicit_min_rating is not None:
        inter = inter[inter["rating"] >= settings.implicit_min_rating]
    if settings.kcore > 1:
        inter = kcore(inter, settings.kcore)
    if len(inter) == 0:
        raise InputDataError(cat.source, "no interactions left after filtering")
    has_existing = existing is not None and len(existing) > 0
    protocol = cold_protocol(settings)
    if has_existing and protocol != stored_protocol:
        raise ConfigError(f"the dataset was split with cold-start protocol {stored_protocol or 'none'}, "
                          f"this ingest asks for {protocol or 'none'}: ingest into a new dataset "
                          "(or drop this one)")
    cold_items: frozenset[str] = frozenset()
    cold_users: frozenset[str] = frozenset()
    if protocol is not None:
        if cat.has_split:
            raise InputDataError(cat.source, "the cold-start protocol (--cold-items/--cold-users) "
                                 "makes its own split; this source has split labels")
        cold = split_cold(inter, settings.seed, settings.cold_items, settings.cold_users,
                          settings.cold_given)
        inter = inter.assign(split=cold.labels.astype("Int8"))
        cold_items, cold_users = cold.cold_items, cold.cold_users
        if has_existing:
            _same_labels(inter, existing)
    elif not cat.has_split:
        labels = (split_incremental(inter, existing, settings.seed)
                  if has_existing else split_per_user(inter, settings.seed))
        inter = inter.assign(split=labels.astype("Int8"))
    items = _items_for(cat.items if cat.item_metadata else cat.items.iloc[:0], inter)
    items["cold"] = items["item_id"].isin(cold_items)
    users = pd.DataFrame({"user_id": pd.unique(inter["user_id"])})
    users["cold"] = users["user_id"].isin(cold_users)
    return Catalogue(users=users, items=items, interactions=inter.reset_index(drop=True),
                     domain=cat.domain, source=cat.source, meta=cat.meta,
                     item_metadata=cat.item_metadata)


def _same_labels(inter: pd.DataFrame, existing: pd.DataFrame) -> None:
    """A cold-start split is made once: the stored labels must be the ones recomputed now
    (a re-run of the same ingest); new data that would move any of them is refused."""
    both = inter[["user_id", "item_id", "split"]].merge(
        existing.drop_duplicates(["user_id", "item_id"]), on=["user_id", "item_id"],
        suffixes=("", "_stored"))
    moved = int((both["split"].astype(int) != both["split_stored"].astype(int)).sum())
    if moved:
        raise ConfigError(f"a cold-start split is made once over the whole catalogue: this "
                          f"ingest would relabel {moved} stored interactions; ingest the whole "
                          "catalogue into a new dataset instead")


def _items_for(items: pd.DataFrame, inter: pd.DataFrame) -> pd.DataFrame:
    """Items that have interactions; ``described`` marks the ones with a metadata row (the
    others get empty fields, and the write leaves their stored text alone)."""
    used = pd.DataFrame({"item_id": pd.unique(inter["item_id"])})
    out = used.merge(items, on="item_id", how="left")
    out["described"] = out["item_id"].isin(items["item_id"])
    return out


MAX_ROW_ITEMS = 1_000
"""A user's history is sent in slices of at most this many interactions per row."""


def interaction_rows(inter: pd.DataFrame, max_items: int = MAX_ROW_ITEMS) -> list[dict[str, Any]]:
    """Interactions as one row per user (slices of at most ``max_items``) with parallel
    lists ``i`` (item ids), ``r`` (rating), ``t`` (ts), ``s`` (split); missing values None.

    Grouping lets the database look each user up once per row instead of once per
    interaction, and lists of scalars cost the driver far less to encode than a map per
    interaction.
    """
    order = np.argsort(inter["user_id"].to_numpy(dtype=object), kind="stable")
    users = inter["user_id"].to_numpy(dtype=object)[order]
    items = inter["item_id"].to_numpy(dtype=object)[order].tolist()
    rating = inter["rating"].to_numpy(dtype="float64")[order]
    ratings = [None if r != r else r for r in rating.tolist()]  # NaN -> None
    ts = inter["ts"].astype(object).where(inter["ts"].notna(), None).to_numpy()[order]
    ts_list = [None if t is None else int(t) for t in ts]
    splits = inter["split"].astype(int).to_numpy()[order].tolist()
    starts = np.flatnonzero(np.r_[True, users[1:] != users[:-1]]).tolist() + [len(users)]
    rows = []
    for a, b in zip(starts[:-1], starts[1:]):
        for lo in range(a, b, max_items):
            hi = min(lo + max_items, b)
            rows.append({"u": users[a], "i": items[lo:hi], "r": ratings[lo:hi],
                         "t": ts_list[lo:hi], "s": splits[lo:hi]})
    return rows


def _with_cold(frame: pd.DataFrame, id_col: str) -> Iterator[tuple[Any, bool]]:
    """(id, cold flag) pairs of a users or items frame (no ``cold`` column: all warm)."""
    cold = frame["cold"] if "cold" in frame else pd.Series(False, index=frame.index)
    return zip(frame[id_col], cold.fillna(False).astype(bool).tolist())


def _cold(flag: Any) -> bool | None:
    """The ``cold`` property of a node: true, or null (absent) for a warm one."""
    return True if bool(flag) else None


def _none(v: Any) -> Any:
    return None if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA else v


def ingest(store: Store, settings: Settings, cat: Catalogue, params: dict[str, Any],
           dedupe: bool = False) -> IngestReport:
    """The whole ingest of a loaded catalogue into ``settings.dataset``, as the CLI and the
    pipeline run it: optional deduplication (latest of each user-item pair), validation and
    labelling against the interactions already stored (their labels are kept), then the write.
    The caller holds the dataset's lock."""
    if dedupe:
        cat = dataclasses.replace(cat, interactions=dedupe_latest(cat.interactions))
    prepared = prepare(cat, settings.ingest, existing_splits(store, settings.dataset),
                       stored_cold_protocol(store, settings.dataset))
    params = {**params, **settings.ingest.model_dump(mode="json", exclude={"batch_size"}),
              "dedupe": dedupe}
    return write(store, settings.dataset, prepared, settings.ingest, params)


def write(store: Store, dataset: str, cat: Catalogue, settings: IngestSettings,
          params: dict[str, Any]) -> IngestReport:
    """Write a prepared catalogue to Neo4j (schema first), recording the stage run."""
    init_schema(store)
    t0 = time.perf_counter()
    inter = cat.interactions
    fp = fingerprint(params, len(inter), int(pd.util.hash_pandas_object(inter, index=False).sum()))
    with stage_run(store, dataset, "ingest", params, fp) as rec:
        store.run("ingest/merge_dataset", dataset=dataset, domain=cat.domain, source=cat.source,
                  format=cat.meta.get("format", ""), cold=cold_protocol(settings) or {})
        bs = settings.batch_size
        store.write_batches("ingest/merge_users",
                            [{"id": u, "cold": _cold(c)} for u, c in _with_cold(cat.users, "user_id")],
                            batch_size=bs, desc="users", dataset=dataset)
        item_rows = [
            {"id": r.item_id, "cold": _cold(getattr(r, "cold", False)),
             "text": {f: _none(getattr(r, f)) for f in ITEM_METADATA}
             if getattr(r, "described", True) else {}}
            for r in cat.items.itertuples(index=False)
        ]
        store.write_batches("ingest/merge_items", item_rows, batch_size=bs, desc="items", dataset=dataset)
        groups = interaction_rows(inter)
        per_row = len(inter) / max(len(groups), 1)
        fresh = not store.run("ingest/has_interactions", dataset=dataset)[0]["any"]
        store.write_batches("ingest/create_interactions" if fresh else "ingest/merge_interactions",
                            groups,
                            batch_size=max(1, round(bs / per_row)),
                            desc="interactions (grouped by user)", dataset=dataset)
        counts = store.run("ingest/finish_dataset", dataset=dataset,
                           params=str(params))[0]
        rec.counts = dict(counts)
    seconds = time.perf_counter() - t0
    splits = {int(k): int(v) for k, v in inter["split"].value_counts().sort_index().items()}
    return IngestReport(users=counts["users"], items=counts["items"],
                        interactions=counts["interactions"], splits=splits, seconds=seconds,
                        cold_items=_n_cold(cat.items), cold_users=_n_cold(cat.users))


def _n_cold(frame: pd.DataFrame) -> int:
    return int(frame["cold"].sum()) if "cold" in frame else 0
