"""``mllmrec refresh``: serve items and users that arrived after the serving run was trained,
from their text vectors, with no training (docs/operating.md, "New items and users").

For the dataset's serving run, the items and users that have a text vector (``embedding``) but
no vector of that run:

1. new items join the active build's semantic graph (:mod:`mllmrec.graph.incremental`: new ->
   all and all -> new, with the build's own ``knn_k``, ``pure`` and search mode);
2. the run's stored weights (its run folder) embed them (:mod:`mllmrec.train.inductive`): items
   ``h_i = MLP_i((sum_l A^l E)_i)`` over the graph with the new edges, users ``h_u = MLP_u(p_u)``
   (the UI-GCN variant adds its layer-0 term, all a node without user-item edges has);
3. their vectors are served as the run's, tagged ``rec_inductive`` (one transaction per batch),
   until the next promoted training run replaces every vector.

Existing items keep their trained vectors, also those whose row gained a new item (counted as
``touched_items``). A model that embeds only ids it was trained on (BPR-MF, LightGCN) leaves the
new entities unserved and says so. Bad input (no serving run, a run whose text dimension differs
from the new text vectors, a missing checkpoint) stops before anything is written. The caller
holds the dataset's lock: the CLI takes it, ``retrain`` runs this as its ``refresh`` stage
inside its own.
"""
from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from mllmrec.config import GraphSettings, Settings
from mllmrec.db import Store
from mllmrec.errors import StageError
from mllmrec.graph.build import active_build
from mllmrec.graph.incremental import BuildRule, EdgeUpdate, add_items
from mllmrec.graph.semantic import use_approximate
from mllmrec.provenance import stage_run
from mllmrec.train import writeback
from mllmrec.train.inductive import item_inputs, item_vectors, text_vectors, user_vectors
from mllmrec.train.model import ModelNeeds, Recommender
from mllmrec.train.registry import text_model

log = logging.getLogger(__name__)


@dataclass
class RefreshReport:
    """What a refresh served (or why it served nothing)."""

    dataset: str
    run: str | None
    model: str = ""
    items: int = 0  # new items served from text
    users: int = 0  # new users served from text
    items_waiting: int = 0  # new items without a text vector yet (describe / embed)
    users_waiting: int = 0  # new users without a text vector yet (profile / embed)
    unserved_items: int = 0  # new items with a text vector the model cannot embed
    unserved_users: int = 0
    edges: EdgeUpdate = field(default_factory=EdgeUpdate)
    keys_over_norm: int = 0  # new item vectors longer than the run's MIPS norm M
    note: str = ""
    seconds: dict[str, float] = field(default_factory=dict)

    def counts(self) -> dict[str, Any]:
        """Flat counts (the StageRun's and the pipeline's summary)."""
        out: dict[str, Any] = {"run": self.run or "", "items": self.items, "users": self.users,
                               "items_waiting": self.items_waiting,
                               "users_waiting": self.users_waiting,
                               "unserved_items": self.unserved_items,
                               "unserved_users": self.unserved_users,
                               **self.edges.counts(), "keys_over_norm": self.keys_over_norm,
                               **{f"{k}_s": round(v, 3) for k, v in self.seconds.items()}}
        if self.note:
            out["note"] = self.note
        return out

    def lines(self) -> list[str]:
        if self.note:
            return [self.note]
        e = self.edges
        out = [f"refresh of '{self.dataset}' with serving run {self.run} ({self.model}): "
               f"{self.items} new items and {self.users} new users served from text "
               f"in {self.seconds.get('total', 0.0):.1f}s"]
        if e.new_items:
            out.append(f"  graph: {e.new_item_edges} SIMILAR edges from new items; "
                       f"{len(e.touched)} existing items gained a new neighbour ({e.edges_to_new} "
                       f"edges, {e.displaced} displaced) and keep their trained vectors until the "
                       "next training run")
        if self.items_waiting or self.users_waiting:
            out.append(f"  waiting for a text vector (run describe-items / profile-users, embed): "
                       f"{self.items_waiting} items, {self.users_waiting} users")
        if self.unserved_users:
            out.append(f"  {self.unserved_users} new users stay unserved: {self.model} has user "
                       "ID embeddings, not a text tower")
        if self.keys_over_norm:
            out.append(f"  {self.keys_over_norm} new item vectors are longer than the run's "
                       "MIPS norm (ranked by the exact rescoring)")
        return out


def _build_rule(store: Store, dataset: str) -> BuildRule:
    """The active build's semantic-graph parameters, as it stored them."""
    b = active_build(store, dataset)
    params = json.loads(b["params"]) if b["params"] else {}  # older builds did not store them
    defaults = GraphSettings()
    approximate = b["approximate"]
    if approximate is None:  # a build that did not record its mode chose by size
        n = store.run("graph/embedded_items", dataset=dataset)[0]["items"]
        approximate = use_approximate(defaults, int(n))
    return BuildRule(b["id"], int(b["knn_k"]), float(b["pure"]), bool(approximate),
                     int(params.get("index_candidates", defaults.index_candidates)))


def _check_dims(model: Recommender, run: str, pending: dict[str, Any]) -> str | None:
    """Why the new text vectors do not fit the run's towers (another encoder), or None."""
    want = model.text_dim
    for kind in ("item", "user"):
        other = sorted(d for d in pending[f"{kind}_dims"] if d != want)
        if other:
            return (f"serving run {run} was trained on {want}-d text vectors, but new {kind}s have "
                    f"{other[0]}-d ones (another encoder?): refresh cannot embed them; "
                    "retrain instead ('mllmrec retrain')")
    return None


def refresh(store: Store, settings: Settings, required: bool = True) -> RefreshReport:
    """Serve the dataset's new items and users from text (module docstring). With
    ``required`` (the CLI) a dataset without a serving run, a missing checkpoint or text
    vectors of another dimension raise StageError before any write; without it (``retrain``'s
    stage, which trains next anyway) they, and a failure while serving (recorded as a failed
    StageRun; SIMILAR rows already written stay, the next build replaces them), end the step
    with a note."""
    t0 = time.perf_counter()
    dataset = settings.dataset
    serving = writeback.serving_run(store, dataset, required=required)
    run = serving["run"]
    if run is None:
        return RefreshReport(dataset, None, note=f"dataset '{dataset}' has no serving run yet: "
                                                 "nothing to refresh")
    pending = store.run("refresh/pending", dataset=dataset)[0]
    new_items, new_users = sorted(pending["items"]), sorted(pending["users"])
    report = RefreshReport(dataset, run, items_waiting=pending["items_waiting"],
                           users_waiting=pending["users_waiting"])
    if not serving["checkpoint"]:
        return _problem(report, f"serving run {run} recorded no checkpoint", required)
    try:
        ts, needs, model = text_model(Path(serving["checkpoint"]).parent)
    except StageError as exc:  # the run folder moved or was deleted
        return _problem(report, f"serving run {run}: {exc}", required)
    report.model = needs.name
    if model is None:
        report.unserved_items, report.unserved_users = len(new_items), len(new_users)
        report.note = (f"{needs.name} (serving run {run}) embeds only the ids it was trained on: "
                       f"{len(new_items)} new items and {len(new_users)} new users stay unserved "
                       "until the next training run")
        return report
    problem = _check_dims(model, run, pending)
    if problem:
        return _problem(report, problem, required)
    if pending["key_norm_sq"] is None:
        return _problem(report, f"serving run {run} has no stored item vector", required)
    if not new_items and not new_users:
        report.seconds["total"] = time.perf_counter() - t0
        return report
    params = {"run": run, "model": needs.name, "items": len(new_items), "users": len(new_users)}
    try:
        with stage_run(store, dataset, "refresh", params) as rec:
            _serve(store, settings, report, needs, model, ts.n_ii_layers, new_items, new_users,
                   float(pending["key_norm_sq"]))
            report.seconds["total"] = time.perf_counter() - t0
            rec.counts = report.counts()
    except StageError as exc:  # recorded as a failed StageRun; retrain trains next anyway
        if required:
            raise
        report.note = f"refresh failed, the cycle goes on: {exc}"
        log.warning("%s", report.note)
        return report
    log.info("%s", "; ".join(report.lines()))
    return report


def _problem(report: RefreshReport, message: str, required: bool) -> RefreshReport:
    if required:
        raise StageError(message)
    report.note = f"refresh skipped: {message}"
    return report


def _serve(store: Store, settings: Settings, report: RefreshReport, needs: ModelNeeds,
           model: Recommender, n_layers: int, new_items: list[str], new_users: list[str],
           key_norm_sq: float) -> None:
    """Edges, vectors and writes of one refresh (checks done)."""
    dataset, gs, run = settings.dataset, settings.graph, str(report.run)
    items = np.zeros((0, 0), dtype=np.float32)
    if new_items and needs.text_items:
        mark = time.perf_counter()
        report.edges = add_items(store, dataset, _build_rule(store, dataset), new_items,
                                 gs.batch_items, gs.workers)
        report.seconds["graph"] = time.perf_counter() - mark
        mark = time.perf_counter()
        inputs, _ = item_inputs(store, dataset, new_items, n_layers, model.text_dim)
        items = item_vectors(model, inputs)
        report.seconds["items"] = time.perf_counter() - mark
        report.items = len(new_items)
        report.keys_over_norm = int(((items.astype(np.float64) ** 2).sum(axis=1) > key_norm_sq).sum())
    else:
        report.unserved_items = len(new_items)
    users = np.zeros((0, 0), dtype=np.float32)
    if new_users and needs.text_users:
        mark = time.perf_counter()
        users = user_vectors(model, text_vectors(store, "refresh/user_embeddings", dataset, new_users,
                                                 model.text_dim))
        report.seconds["users"] = time.perf_counter() - mark
        report.users = len(new_users)
    else:
        report.unserved_users = len(new_users)
    mark = time.perf_counter()
    writeback.serve_inductive(store, dataset, run, new_users[: report.users], users,
                              new_items[: report.items], items, key_norm_sq)
    report.seconds["write"] = time.perf_counter() - mark
