"""The ``build-graph`` stage: co-occurrence and semantic item-item graphs of one dataset as
one ``(:GraphBuild)``.

Build policy: one active build per dataset. A build writes its edges tagged with its own
id next to the previous build's, and only once both graphs are complete deletes every other
build's edges and marks itself ``active``. A failed build removes its partial edges, so the
previous active build stays intact. GraphBuild nodes are kept as history (parameters,
timings, counts, status). Re-running with the same parameters therefore replaces the
edges, never duplicates them; readers use the edges of the active build
(``cypher/graph/active_build`` then ``cypher/graph/build_edges``).

Side builds (``mllmrec tune``): :func:`ensure_build` finds a build of given parameters, the
active one or a *kept* side build made from the same inputs, or builds one with
``activate=False``: its edges stay beside the active build's, nothing reads them but a
trainer given its id, and it records no ``build-graph`` StageRun (the pipeline's skip rule
reads those). Only :func:`activate_build` (a served study winner) makes a side build the
active one; a regular build, which deletes every other build's edges, ends all side builds.
"""
from __future__ import annotations

import json
import logging
import time
import uuid
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Any

from mllmrec.config import Settings
from mllmrec.dataset import dataset_stats
from mllmrec.db import Store
from mllmrec.errors import StageError
from mllmrec.graph.cooccurrence import build_cooccurrence
from mllmrec.graph.semantic import EmbeddedItems, build_semantic, embedded_items, use_approximate
from mllmrec.provenance import StageRecord, stage_run

log = logging.getLogger(__name__)


@dataclass
class GraphBuildSummary:
    """What a build did: its id, parameters, seconds per phase and counts."""

    build_id: str
    dataset: str
    params: dict[str, Any]
    timings: dict[str, float] = field(default_factory=dict)
    counts: dict[str, float] = field(default_factory=dict)

    def lines(self) -> list[str]:
        c, t = self.counts, self.timings
        out = [f"graph build {self.build_id} of '{self.dataset}' ({_params_text(self.params)})",
               f"  CO_OCCURS  {c['co_occurs_edges']:,} edges in {t['cooccurrence_s']:.1f}s",
               f"  SIMILAR    {c['similar_edges']:,} edges ({c['similar_loops']:,} self-loops, "
               f"{c['similar_below_pure']:,} neighbours below pure) in {t['semantic_s']:.1f}s"]
        if "index_rebuild_s" in t:
            out.append(f"  vector index rebuilt first in {t['index_rebuild_s']:.1f}s (included above)")
        if "approximate_recall" in c:
            out.append(f"  approximate recall vs exact: {c['approximate_recall']:.4f} "
                       f"on {c['recall_sample']} items ({t['recall_s']:.1f}s)")
        out.append(f"  total {t['total_s']:.1f}s")
        return out


def _params_text(params: dict[str, Any]) -> str:
    keys = ("knn_k", "knn_jac", "pure", "approximate")
    return ", ".join(f"{k}={params[k]}" for k in keys)


def _embedded(store: Store, dataset: str) -> EmbeddedItems:
    """The dataset's embedded items; StageError when the dataset is missing or has none."""
    dataset_stats(store, dataset)  # raises StageError if the dataset does not exist
    cat = embedded_items(store, dataset)
    if not cat.ids:
        raise StageError(f"no item of dataset '{dataset}' has an embedding; run "
                         "'mllmrec embed' before 'mllmrec build-graph'")
    return cat


def build_graph(store: Store, settings: Settings, *, activate: bool = True,
                inputs: str | None = None) -> GraphBuildSummary:
    """Build both item-item graphs of ``settings.dataset`` with ``settings.graph`` and make
    them the dataset's active build; with ``activate=False`` keep them as a side build beside
    it instead, tagged with ``inputs`` (the fingerprint of the embeddings and training
    audiences it is built from). Raises StageError before writing anything when the dataset
    is missing or no item has an embedding."""
    return _build(store, settings, _embedded(store, settings.dataset), activate, inputs)


def _build(store: Store, settings: Settings, cat: EmbeddedItems, activate: bool,
           inputs: str | None) -> GraphBuildSummary:
    dataset, gs = settings.dataset, settings.graph
    # The mode actually used is recorded (approximate=None only means "choose by size").
    params = {**gs.model_dump(), "approximate": use_approximate(gs, len(cat.ids))}
    summary = GraphBuildSummary(build_id=str(uuid.uuid4()), dataset=dataset, params=params)
    provenance = (stage_run(store, dataset, "build-graph", params) if activate
                  else nullcontext(StageRecord(summary.build_id)))
    with provenance as rec:
        store.run("graph/start_build", id=summary.build_id, dataset=dataset, knn_k=gs.knn_k,
                  knn_jac=gs.knn_jac, pure=gs.pure, approximate=params["approximate"],
                  params=json.dumps(params, sort_keys=True), side=not activate, inputs=inputs)
        try:
            _run_phases(store, summary, settings, cat, activate)
        except BaseException as exc:
            store.run_implicit("graph/drop_build_edges", dataset=dataset, build=summary.build_id)
            store.run("graph/fail_build", id=summary.build_id, error=f"{type(exc).__name__}: {exc}"[:2000])
            raise
        rec.counts = {"build": summary.build_id, **summary.counts, **summary.timings}
    return summary


def _run_phases(store: Store, summary: GraphBuildSummary, settings: Settings,
                cat: EmbeddedItems, activate: bool) -> None:
    dataset, gs, t = summary.dataset, settings.graph, summary.timings
    start = time.perf_counter()
    summary.counts.update(build_cooccurrence(store, dataset, summary.build_id, gs.knn_jac,
                                             gs.batch_items))
    t["cooccurrence_s"] = time.perf_counter() - start
    counts, timings = build_semantic(store, dataset, summary.build_id, gs, cat,
                                     summary.params["approximate"])
    summary.counts.update(counts)
    t.update(timings)
    if activate:
        mark = time.perf_counter()
        store.run_implicit("graph/drop_other_edges", dataset=dataset, build=summary.build_id)
        t["replace_s"] = time.perf_counter() - mark
    t["total_s"] = time.perf_counter() - start
    store.run("graph/finish_build" if activate else "graph/keep_build", id=summary.build_id,
              timings=json.dumps(t), counts=json.dumps(summary.counts))
    log.info("%s: %sgraph build %s done in %.1fs", dataset, "" if activate else "side ",
             summary.build_id, t["total_s"])


def ensure_build(store: Store, settings: Settings, inputs: str) -> tuple[str, bool]:
    """The id of a finished build of ``settings.graph``'s parameters: the active build, or a
    kept side build made from the same ``inputs``; otherwise a new side build (never made
    active here). Returns the id and whether it was built now."""
    dataset, gs = settings.dataset, settings.graph
    cat = _embedded(store, dataset)
    found = store.run("graph/find_build", dataset=dataset, knn_k=gs.knn_k, knn_jac=gs.knn_jac,
                      pure=gs.pure, approximate=use_approximate(gs, len(cat.ids)), inputs=inputs)
    if found:
        return str(found[0]["id"]), False
    return _build(store, settings, cat, activate=False, inputs=inputs).build_id, True


def active_build(store: Store, dataset: str) -> dict[str, Any]:
    """The dataset's active GraphBuild node (id, params, counts, ...); StageError if it has
    none. The one lookup of refresh, graph-stats and the trainer's pull."""
    rows = store.run("graph/active_build", dataset=dataset)
    if not rows:
        raise StageError(f"dataset '{dataset}' has no item-item graph; run 'mllmrec build-graph'")
    return rows[0]


def activate_build(store: Store, dataset: str, build: str) -> None:
    """Make a kept side build (or the active one: nothing changes) the dataset's active
    build, then delete every other build's edges, as a regular build does. The flags flip in
    one transaction first, so readers never see an active build without its edges."""
    if not store.run("graph/activate_build", dataset=dataset, id=build):
        raise StageError(f"graph build {build} of '{dataset}' is neither active nor a kept "
                         "side build (a later build-graph replaced it); build it again")
    store.run_implicit("graph/drop_other_edges", dataset=dataset, build=build)
    log.info("%s: graph build %s is now the active build", dataset, build)
