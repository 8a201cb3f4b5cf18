"""Store a training run in Neo4j: the (:TrainingRun) node and the learned vectors.

Vectors are written in two steps so a failed or interrupted run never touches what is served:

1. :func:`stage_vectors` writes the run's 64-d vectors in UNWIND batches to staging
   properties (``rec_stage_vector``, items also the MIPS key ``rec_stage_key``) tagged with the
   run id; the serving properties (``rec_vector``, ``rec_key``, ``rec_run``) are untouched.
2. :func:`promote_run` switches, in ONE transaction and only if every user and item of the run
   is staged, the staged vectors to the serving properties and ``Dataset.serving_run`` to the
   run.

Old runs stay as history: their (:TrainingRun) nodes (parameters, metrics, checkpoint path)
remain and their weights stay in the run folder; only the serving run's vectors live on the
nodes, covered by the vector indexes ``item_rec_key`` and ``user_rec_vector``.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

import numpy as np

from mllmrec.cypher import statements
from mllmrec.db import Store
from mllmrec.errors import StageError
from mllmrec.provenance import code_version, process_identity

log = logging.getLogger(__name__)


def mips_keys(item_vectors: np.ndarray, norm_sq: float | None = None) -> np.ndarray:
    """Append sqrt(M^2 - |h_i|^2) (M = the largest norm) to every item vector, so that the
    Euclidean distance to a query [h_u, 0] orders items by the dot product h_u . h_i.

    ``norm_sq``: M^2 of a run whose keys are already stored, for items added to it later
    (``refresh``): keys of one run must share M. A vector longer than that M gets 0: the index
    then ranks it slightly below its score, and ``recommend``'s exact rescoring of the
    over-fetched candidates puts it in place."""
    sq = (item_vectors.astype(np.float64) ** 2).sum(axis=1)
    extra = np.sqrt(np.maximum((sq.max() if norm_sq is None else norm_sq) - sq, 0.0))
    return np.hstack([item_vectors, extra[:, None]]).astype(np.float32)


def ensure_indexes(store: Store, dim: int) -> bool:
    """Create the vector indexes of the learned vectors if missing; whether they serve
    ``dim``-d vectors. They span every dataset with one dimension, so a run of another
    dimension is recommended by an exact scan of its items (``recommend``), and said here."""
    for text in statements("train/vector_indexes"):
        store.run_text(text, dims=dim, key_dims=dim + 1)
    rows = store.run("train/rec_index_dims")
    indexed = not rows or rows[0]["dimensions"] == dim + 1
    if not indexed:
        log.warning("the learned-vector indexes item_rec_key / user_rec_vector of this server are "
                    "%d-d (made by an earlier run); this %d-d run is recommended by an exact "
                    "scan of its items, slower on large catalogues. To index it, drop both "
                    "indexes (DROP INDEX item_rec_key; DROP INDEX user_rec_vector) and train again",
                    rows[0]["dimensions"] - 1, dim)
    return indexed


@dataclass(frozen=True)
class RunLabels:
    """How a run's numbers must be read, as its (:TrainingRun) node records them."""

    user_text_scope: str = "train"  # 'all': user texts with held-out items (the leak)
    cold_items: float | None = None  # cold-start protocol: fraction of items held out
    cold_users: float | None = None  # ... and of users

    @property
    def cold(self) -> str | None:
        """``"cold items 0.2, cold users 0"`` on a cold-start split, else None."""
        if self.cold_items is None and self.cold_users is None:
            return None
        return f"cold items {self.cold_items or 0:g}, cold users {self.cold_users or 0:g}"


def start_run(store: Store, run_id: str, dataset: str, model: str, params: dict[str, Any],
              device: str, graph_build: str | None) -> RunLabels:
    """Record the run as started; returns its labels: the scope of the user texts it trains
    on ('train', or 'all' when they include held-out items: the published protocol's leak)
    and the dataset's cold-start protocol."""
    rows = store.run("train/run_start", id=run_id, dataset=dataset, model=model,
                     params=json.dumps(params, sort_keys=True, default=str), device=device,
                     code_version=code_version(), graph_build=graph_build, **process_identity())
    if not rows:
        return RunLabels()
    return RunLabels(str(rows[0]["user_text_scope"]), rows[0]["cold_items"], rows[0]["cold_users"])


def finish_run(store: Store, run_id: str, status: str, props: dict[str, Any]) -> None:
    """Set the run's outcome; ``props`` values must be Neo4j property types."""
    store.run("train/run_finish", id=run_id, status=status, props=props)


def run_properties(metrics: dict[str, dict[str, float]], extra: dict[str, Any]) -> dict[str, Any]:
    """Flatten metrics per split for the run node: ``metrics`` as JSON plus one number per
    split and metric (``test_recall_20``) so runs can be compared in Cypher."""
    props: dict[str, Any] = {"metrics": json.dumps(metrics, sort_keys=True)}
    for split, values in metrics.items():
        for name, value in values.items():
            props[f"{split}_{name.replace('@', '_')}"] = value
    props.update(extra)
    return props


def stage_vectors(store: Store, dataset: str, run_id: str, user_ids: list[str], users: np.ndarray,
                  item_ids: list[str], items: np.ndarray, batch_size: int = 5000) -> None:
    """Write the run's vectors to the staging properties in batches."""
    _write_vectors(store, ("train/stage_items", "train/stage_users"), "stage", dataset, run_id,
                   user_ids, users, item_ids, items, mips_keys(items), batch_size)


def serve_inductive(store: Store, dataset: str, run_id: str, user_ids: list[str], users: np.ndarray,
                    item_ids: list[str], items: np.ndarray, key_norm_sq: float,
                    batch_size: int = 5000) -> None:
    """Serve vectors computed from text for nodes ``run_id`` has not seen (``refresh``), as the
    run's own, tagged ``rec_inductive``: one transaction per batch, nothing written unless
    ``run_id`` still serves ``dataset``. ``key_norm_sq`` is the run's M^2 (:func:`mips_keys`)."""
    keys = mips_keys(items, key_norm_sq) if len(items) else items
    _write_vectors(store, ("refresh/serve_items", "refresh/serve_users"), "serve new", dataset,
                   run_id, user_ids, users, item_ids, items, keys, batch_size)


def _write_vectors(store: Store, queries: tuple[str, str], what: str, dataset: str, run_id: str,
                   user_ids: list[str], users: np.ndarray, item_ids: list[str], items: np.ndarray,
                   keys: np.ndarray, batch_size: int) -> None:
    """Item vectors with their search keys, then user vectors, through the two named queries
    (item query, user query) in UNWIND batches."""
    store.write_batches(queries[0],
                        ({"id": i, "vector": v.tolist(), "key": k.tolist()}
                         for i, v, k in zip(item_ids, items, keys)),
                        batch_size, desc=f"{what} item vectors", total=len(item_ids),
                        dataset=dataset, run=run_id)
    store.write_batches(queries[1],
                        ({"id": u, "vector": v.tolist()} for u, v in zip(user_ids, users)),
                        batch_size, desc=f"{what} user vectors", total=len(user_ids),
                        dataset=dataset, run=run_id)


def promote_run(store: Store, dataset: str, run_id: str, n_users: int, n_items: int) -> None:
    """Serve a fully staged run (one transaction); raise if its staging is incomplete."""
    rows = store.run("train/promote_run", dataset=dataset, run=run_id, n_users=n_users, n_items=n_items)
    if not rows:
        raise StageError(f"run {run_id} is not completely staged in '{dataset}' "
                         "(interrupted or overwritten by another run); the serving run is unchanged")
    log.info("run %s now serves '%s'", run_id, dataset)


def serving_run(store: Store, dataset: str, required: bool = True) -> dict[str, Any]:
    """The serving run of a dataset: ``{"run", "graph_build", "metrics", "model", "checkpoint",
    "props"}``; with ``required=False`` a dataset without one gives ``run`` None."""
    rows = store.run("train/serving_run", dataset=dataset)
    if not rows:
        raise StageError(f"no dataset named '{dataset}' in the database; ingest it first")
    if required and rows[0]["run"] is None:
        raise StageError(f"dataset '{dataset}' has no trained model yet; run 'mllmrec train'")
    return rows[0]


def stored_vectors(store: Store, dataset: str, run_id: str, user_ids: list[str], item_ids: list[str]
                   ) -> tuple[np.ndarray, np.ndarray]:
    """The vectors stored for ``run_id``, aligned to the given id orders (missing -> error)."""
    def aligned(name: str, ids: list[str]) -> np.ndarray:
        got = {r["id"]: r["vector"] for r in store.run(name, dataset=dataset, run=run_id)}
        missing = [x for x in ids if x not in got]
        if missing:
            raise StageError(f"{len(missing)} nodes have no vector of run {run_id} (e.g. {missing[:3]})")
        return np.asarray([got[x] for x in ids], dtype=np.float32)

    return aligned("train/user_vectors", user_ids), aligned("train/item_vectors", item_ids)
