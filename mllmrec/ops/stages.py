"""The pipeline's stages: where each entry point lives, which settings change its result, and
the fingerprint of its inputs.

A stage is skipped when the fingerprint of (its parameters, its inputs read from Neo4j) equals
the one stored on its last successful ``(:StageRun)``. Inputs are what the stage reads and never
what it writes (describe reads item metadata and writes texts; profile reads training
histories and item texts; ...), so a run never invalidates its own fingerprint. Each stage's
inputs come from one query, ``cypher/ops/inputs/<stage>.cypher``, hashed row by row here.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mllmrec.config import Settings
from mllmrec.db import Graph
from mllmrec.enrich.describe import describe_items
from mllmrec.enrich.embed import embed_texts
from mllmrec.enrich.profile import profile_users
from mllmrec.graph.build import build_graph
from mllmrec.provenance import fingerprint
from mllmrec.train.trainer import train_model


@dataclass(frozen=True)
class Stage:
    """One step of the pipeline: its StageRun name, entry point and result-changing settings."""

    name: str
    run: Callable[..., Any]  # takes (graph, settings, **stage kwargs)
    fields: tuple[str, ...]  # dotted settings that change what the stage produces

    def params(self, settings: Settings) -> dict[str, Any]:
        """The values of this stage's result-changing settings."""
        data = settings.model_dump(mode="json")
        out: dict[str, Any] = {}
        for dotted in self.fields:
            section, _, key = dotted.partition(".")
            if key in data[section]:  # settings another stage adds later simply join in
                out[dotted] = data[section][key]
        return out

    def input_fingerprint(self, graph: Graph, settings: Settings) -> str:
        """Hash of this stage's parameters and of the rows its input query returns."""
        rows = graph.run(f"ops/inputs/{self.name}", dataset=settings.dataset)
        return fingerprint(self.name, self.params(settings), hash_rows(rows))


def hash_rows(rows: list[dict[str, Any]]) -> str:
    """A streaming SHA-256 of query rows (order matters; the input queries fix it)."""
    h = hashlib.sha256()
    for row in rows:
        h.update(json.dumps(row, sort_keys=True, default=str).encode())
        h.update(b"\n")
    return h.hexdigest()


_GEN = ("enrich.backend", "enrich.openai_base_url", "enrich.max_new_tokens", "enrich.domain",
        "enrich.prompt_version", "enrich.no_llm")

DESCRIBE = Stage("describe", describe_items,
                 (*_GEN, "enrich.vlm_model", "enrich.image_max_pixels"))
PROFILE = Stage("profile", profile_users,
                (*_GEN, "enrich.llm_model", "enrich.history_max_items", "enrich.history_max_chars",
                 "enrich.user_text_max_chars", "enrich.history_scope"))
EMBED = Stage("embed", embed_texts, ("enrich.encoder",))
BUILD_GRAPH = Stage("build-graph", build_graph,
                    ("graph.knn_k", "graph.knn_jac", "graph.pure", "graph.approximate"))
TRAIN = Stage("train", train_model,
              tuple(f"train.{f}" for f in ("model", "dim", "n_ii_layers", "ui_gcn", "n_ui_layers",
                                          "lr", "batch_size", "epochs", "patience", "seed",
                                          "topks", "minibatch", "fanout", "use_user_pref")))

#: Stages after ingest, in the order the pipeline and retrain run them.
STAGES: tuple[Stage, ...] = (DESCRIBE, PROFILE, EMBED, BUILD_GRAPH, TRAIN)
