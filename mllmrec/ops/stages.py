"""The pipeline's stages: where each entry point lives, which settings change its result, and
the fingerprint of its inputs.

A stage is skipped when the fingerprint of (its parameters, its inputs read from Neo4j) equals
the one stored on its last successful ``(:StageRun)``. Inputs are what the stage reads and never
what it writes (describe reads item metadata and writes texts; profile reads training
histories and item texts; ...), so a run never invalidates its own fingerprint. Each stage's
inputs come from one query, ``cypher/ops/inputs/<stage>.cypher``, hashed row by row here.

Parameters are declared as typed :class:`Fields` of the settings sections in
:mod:`mllmrec.config`; every section field is either a parameter of some stage (or of ingest,
:data:`INGEST`) or listed in :data:`IRRELEVANT` with the reason it changes no result. A unit
test walks every field of every section and holds the two lists to that.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar, cast

from pydantic import BaseModel

from mllmrec.config import (
    EnrichSettings,
    GraphSettings,
    IngestSettings,
    Neo4jSettings,
    Settings,
    TrainSettings,
    TuneSettings,
)
from mllmrec.db import Store
from mllmrec.enrich.describe import describe_items
from mllmrec.enrich.embed import embed_texts
from mllmrec.enrich.profile import profile_users
from mllmrec.graph.build import build_graph
from mllmrec.ops.refresh import refresh
from mllmrec.provenance import fingerprint
from mllmrec.train.job import train_model

S = TypeVar("S", bound=BaseModel)


class _FieldRecorder:
    """Stands in for a settings section while a :class:`Fields` selector reads it: each
    attribute read returns the field's name, and a name the section does not have raises."""

    def __init__(self, section: type[BaseModel]) -> None:
        self._section = section

    def __getattr__(self, name: str) -> str:
        if name not in self._section.model_fields:
            raise AttributeError(f"{self._section.__name__} has no field '{name}'")
        return name


def _section_key(section: type[BaseModel]) -> str:
    """The attribute of :class:`Settings` that holds ``section`` (``GraphSettings`` -> graph)."""
    keys = [k for k, f in Settings.model_fields.items() if f.annotation is section]
    if len(keys) != 1:
        raise TypeError(f"{section.__name__} is not a section of Settings")
    return keys[0]


@dataclass(frozen=True)
class Fields(Generic[S]):
    """Fields of one settings section, named by reading them:
    ``Fields(GraphSettings, lambda g: (g.knn_k, g.pure))``. mypy checks each attribute against
    the section class; ``names`` are taken when the object is made, by running ``select`` on
    a stand-in that refuses names the section lacks, so a misspelt field fails at import."""

    section: type[S]
    select: Callable[[S], tuple[Any, ...]]
    key: str = field(init=False)  # the section's attribute in Settings
    names: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        names = tuple(self.select(cast(S, _FieldRecorder(self.section))))
        if not all(isinstance(n, str) and n in self.section.model_fields for n in names):
            raise TypeError(f"Fields({self.section.__name__}, ...) must only read fields, "
                            f"got {names!r}")
        object.__setattr__(self, "key", _section_key(self.section))
        object.__setattr__(self, "names", names)

    def values(self, settings: Settings) -> dict[str, Any]:
        """These fields' values in ``settings`` (JSON types), by field name."""
        section: BaseModel = getattr(settings, self.key)
        return section.model_dump(mode="json", include=set(self.names))


@dataclass(frozen=True)
class Irrelevant:
    """Section fields that change no stage's result, and why (speed, location, secrets...)."""

    fields: Fields[Any]
    why: str


@dataclass(frozen=True)
class Stage:
    """One step of the pipeline: its StageRun name, entry point and result-changing settings."""

    name: str
    entry: Callable[..., Any]  # takes (graph, settings, **stage kwargs)
    reads: tuple[Fields[Any], ...]  # settings that change what the stage produces

    def params(self, settings: Settings) -> dict[str, Any]:
        """The values of this stage's result-changing settings, by dotted name."""
        return {f"{f.key}.{name}": value for f in self.reads
                for name, value in f.values(settings).items()}

    def input_fingerprint(self, store: Store, settings: Settings) -> str:
        """Hash of this stage's parameters and of the rows its input query returns."""
        rows = store.run(f"ops/inputs/{self.name}", dataset=settings.dataset)
        return fingerprint(self.name, self.params(settings), hash_rows(rows))


def hash_rows(rows: list[dict[str, Any]]) -> str:
    """A streaming SHA-256 of query rows (order matters; the input queries fix it)."""
    h = hashlib.sha256()
    for row in rows:
        h.update(json.dumps(row, sort_keys=True, default=str).encode())
        h.update(b"\n")
    return h.hexdigest()


def _generation(e: EnrichSettings) -> tuple[Any, ...]:
    """What every generated text depends on (describe and profile)."""
    return (e.backend, e.openai_base_url, e.max_new_tokens, e.domain, e.prompt_version, e.no_llm)


DESCRIBE = Stage("describe", describe_items, (
    Fields(EnrichSettings, lambda e: (*_generation(e), e.vlm_model, e.image_max_pixels)),))
PROFILE = Stage("profile", profile_users, (
    Fields(EnrichSettings, lambda e: (*_generation(e), e.llm_model, e.history_max_items,
                                      e.history_max_chars, e.user_text_max_chars,
                                      e.history_scope)),))
EMBED = Stage("embed", embed_texts, (
    Fields(EnrichSettings, lambda e: (e.encoder, e.encoder_precision, e.embed_backend)),))
BUILD_GRAPH = Stage("build-graph", build_graph, (
    Fields(GraphSettings, lambda g: (g.knn_k, g.knn_jac, g.pure, g.approximate,
                                     g.approximate_above, g.index_candidates)),))
TRAIN = Stage("train", train_model, (
    Fields(TrainSettings, lambda t: (t.model, t.dim, t.n_ii_layers, t.ui_gcn, t.n_ui_layers,
                                     t.lr, t.batch_size, t.epochs, t.patience, t.eval_every,
                                     t.seed, t.topks,
                                     t.minibatch, t.fanout, t.use_user_pref, t.negatives)),))

#: Serves new items and users from text with the serving run's weights; everything it depends
#: on (the run, the active build and its parameters) is read from Neo4j, no setting.
REFRESH = Stage("refresh", refresh, ())

#: Stages after ingest, in the order the pipeline runs them.
STAGES: tuple[Stage, ...] = (DESCRIBE, PROFILE, EMBED, BUILD_GRAPH, TRAIN)

#: retrain's stages: the pipeline's, with ``refresh`` as soon as the new texts are encoded, so
#: new items and users are served while the graph is rebuilt and the model trained.
RETRAIN_STAGES: tuple[Stage, ...] = (DESCRIBE, PROFILE, EMBED, REFRESH, BUILD_GRAPH, TRAIN)

#: The ingest settings in ingest's fingerprint (:func:`mllmrec.ops.pipeline.source_fingerprint`).
INGEST = Fields(IngestSettings, lambda i: (i.kcore, i.seed, i.implicit_min_rating, i.cold_items,
                                           i.cold_users, i.cold_given))

#: Section fields in no fingerprint, each with the reason it changes no stage's result.
IRRELEVANT: tuple[Irrelevant, ...] = (
    Irrelevant(Fields(Neo4jSettings, lambda n: (
        n.uri, n.user, n.password, n.database, n.home, n.heap, n.pagecache, n.bolt_port,
        n.http_port, n.connect_timeout, n.retry_seconds)),
        "where the database is and how to reach it; the data a stage reads is its input"),
    Irrelevant(Fields(IngestSettings, lambda i: (i.batch_size,)),
               "rows per write transaction: speed only"),
    Irrelevant(Fields(EnrichSettings, lambda e: (e.gen_batch_size, e.openai_concurrency,
                                                 e.embed_batch_size, e.device)),
               "how many texts are generated or encoded at once, and where: speed only "
               "(batching and device move float rounding, not what a text says)"),
    Irrelevant(Fields(EnrichSettings, lambda e: (e.openai_retries, e.openai_timeout,
                                                 e.image_timeout)),
               "patience with a slow endpoint or image host: a request that gives up fails "
               "its own item or user, which stays without a text and is retried next run"),
    Irrelevant(Fields(EnrichSettings, lambda e: (e.embed_base_url,)),
               "where the named encoder is served; the encoder, its precision and the backend "
               "are in the embed fingerprint (and in each vector's embedding_hash)"),
    Irrelevant(Fields(EnrichSettings, lambda e: (e.openai_api_key, e.image_cache, e.embed_cache)),
               "a credential, a download cache folder and a file of vectors computed before "
               "by the same encoder: who asks and where copies are kept, not what is generated"),
    Irrelevant(Fields(GraphSettings, lambda g: (g.batch_items, g.workers)),
               "source items per kNN query and queries at once: speed only"),
    Irrelevant(Fields(GraphSettings, lambda g: (g.rebuild_index,)),
               "rebuilding the shared vector index changes search speed; an approximate "
               "search already depends on the index's state (other datasets' writes), which "
               "no fingerprint holds"),
    Irrelevant(Fields(GraphSettings, lambda g: (g.recall_sample,)),
               "only measures the approximate search's recall; the edges are the same"),
    Irrelevant(Fields(TrainSettings, lambda t: (t.eval_batch_size, t.device, t.threads)),
               "users scored at once, device and CPU threads: speed only (float rounding "
               "aside)"),
    Irrelevant(Fields(TrainSettings, lambda t: (t.deterministic,)),
               "fixes threads and kernels so a seed repeats bit for bit: it removes float "
               "rounding noise, like threads, and changes no setting of the model or protocol"),
    Irrelevant(Fields(TrainSettings, lambda t: (t.runs_dir,)),
               "where run folders are written, not what is trained"),
    Irrelevant(Fields(TrainSettings, lambda t: (t.warm_start, t.max_recall_drop)),
               "retrain's choices of the initial weights and of whether the new run serves; "
               "retrain trains only when the inputs changed, which changes the fingerprint"),
    Irrelevant(Fields(TrainSettings, lambda t: (t.min_gain,)),
               "tune --serve's bar for promoting a study's winner: whether a run serves, not "
               "what any run learns"),
    Irrelevant(Fields(TuneSettings, lambda t: (
        t.space, t.n_trials, t.sampler, t.pruner, t.startup_trials, t.warmup_epochs, t.epochs,
        t.patience, t.seed, t.storage, t.study_name)),
               "'mllmrec tune' is not a pipeline stage: a study records these on its "
               "(:TuningStudy) node and Optuna storage, and each trial's TrainingRun records "
               "the settings it trained with"),
)
