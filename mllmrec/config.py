"""One validated configuration object for every stage.

Layers, later wins (as in RecBole): built-in defaults, then a YAML file (``--config`` or
``$MLLMREC_CONFIG``), then environment variables for the connection (``NEO4J_URI``,
``NEO4J_USER``, ``NEO4J_PASSWORD``, ``NEO4J_DATABASE``), then command-line flags.

Each stage reads only its own section, and records the section it ran with as provenance.
"""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Literal, get_args

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from mllmrec.errors import ConfigError


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class Neo4jSettings(_Section):
    """Where the database is. Credentials never have defaults in code."""

    uri: str = "bolt://127.0.0.1:7687"
    user: str = "neo4j"
    password: str | None = None
    database: str = "neo4j"
    # Folder of the project-managed local server (conf, data, logs, credentials).
    home: Path = Path(".mllmrec/neo4j")
    # Memory for the local server's JVM heap and page cache.
    heap: str = "1g"
    pagecache: str = "512m"
    bolt_port: int = 7687
    http_port: int = 7474
    # Seconds to wait for a connection (and its Bolt handshake), and to keep retrying a
    # transaction that failed on a transient error: a server that is gone, or a port where
    # another service answers, is reported within about twice this.
    connect_timeout: float = Field(4.0, gt=0)
    retry_seconds: float = Field(4.0, ge=0)


class IngestSettings(_Section):
    """How raw interactions become the split graph."""

    kcore: int = Field(0, ge=0, description="iterated k-core filter; 0 = off")
    seed: int = 2025
    batch_size: int = Field(10_000, ge=100)
    implicit_min_rating: float | None = Field(
        None, description="keep only interactions with rating >= this (None keeps all)"
    )
    cold_items: float = Field(
        0.0, ge=0.0, lt=1.0, description="cold-start protocol: seeded fraction of items held "
        "out entirely (all their interactions to validation/test, none to training); 0 = off")
    cold_users: float = Field(
        0.0, ge=0.0, lt=1.0, description="cold-start protocol: seeded fraction of users held "
        "out entirely (their text from cold_given interactions that are neither trained on "
        "nor scored; the rest to validation/test); 0 = off")
    cold_given: int = Field(
        5, ge=1, description="cold users: oldest interactions (with warm items) the user text "
        "is built from")

    @property
    def cold(self) -> bool:
        """Whether the cold-start protocol is on."""
        return self.cold_items > 0 or self.cold_users > 0


class EnrichSettings(_Section):
    """Describe items, profile users, embed texts (docs/method.md sections 2-4)."""

    backend: Literal["transformers", "openai"] = "transformers"
    vlm_model: str = "Qwen/Qwen2.5-VL-3B-Instruct"
    llm_model: str = "Qwen/Qwen2.5-VL-3B-Instruct"
    openai_base_url: str | None = None
    openai_api_key: str | None = None
    openai_concurrency: int = Field(4, ge=1)
    openai_retries: int = Field(3, ge=0)
    openai_timeout: float = Field(120.0, gt=0)
    max_new_tokens: int = Field(160, ge=1)
    gen_batch_size: int = Field(4, ge=1)
    domain: str | None = Field(None, description="overrides the domain taken from the data")
    prompt_version: str = "v1"
    history_max_items: int = Field(50, ge=1)
    history_scope: Literal["train", "all"] = Field(
        "train", description="interactions a user's behavioural list is built from: 'train' "
        "(the only honest choice) or 'all' (validation and test too: the published protocol, "
        "a leak kept for measuring its effect only; every output made with it is labelled)")
    encoder: str = Field("all-MiniLM-L6-v2", description="sentence-transformers name or folder "
                         "(embed_backend 'local'), or the model name the endpoint serves ('openai')")
    encoder_precision: Literal["fp32", "int8"] = Field(
        "fp32", description="local encoder weights: fp32, or int8 (torch dynamic quantisation "
        "of the linear layers, CPU only); part of embedding_hash, so switching re-embeds")
    embed_backend: Literal["local", "openai"] = Field(
        "local", description="encode in-process, or through an OpenAI-compatible /embeddings "
        "endpoint (openai_api_key, openai_concurrency, openai_retries, openai_timeout apply)")
    embed_base_url: str | None = Field(
        None, description="base URL of the embeddings endpoint, e.g. http://localhost:8080/v1; "
        "None = openai_base_url")
    embed_batch_size: int = Field(128, ge=1, description="texts per encoder batch (local) or per request (openai)")
    image_cache: Path = Path(".mllmrec/images")
    embed_cache: Path | None = Field(
        None, description="a SQLite file of text vectors by encoder and text, shared by every "
        "dataset: a text encoded before is read back instead of encoded again (None = off)")
    no_llm: bool = False
    device: Literal["auto", "cpu", "cuda"] = "auto"
    image_max_pixels: int = Field(448 * 448, ge=28 * 28, description=(
        "images are downscaled to at most this many pixels before the VLM sees them"))
    history_max_chars: int = Field(6000, ge=200, description=(
        "budget of the behavioural list in the LLM prompt (most recent items kept)"))
    user_text_max_chars: int = Field(800, ge=100, description=(
        "budget of the --no-llm user text (the encoder"
        " reads 256 tokens, ~3.4 characters each for MovieLens titles)"))
    image_timeout: float = Field(20.0, gt=0, description="seconds to fetch an image URL")


class GraphSettings(_Section):
    """Item-item graph refinement (docs/method.md section 5)."""

    knn_k: int = Field(10, ge=1)
    knn_jac: int = Field(10, ge=0)
    pure: float = Field(0.7, ge=-1.0, le=1.0)
    approximate: bool | None = Field(
        None, description="semantic kNN through the vector index (True), by brute force "
        "(False), or None = approximate only for catalogues above approximate_above items")
    approximate_above: int = Field(
        5_000, ge=0, description="with approximate=None: embedded items above which the "
        "semantic kNN uses the vector index (exact brute force costs items^2)")
    batch_items: int = Field(500, ge=1)
    workers: int = Field(
        2, ge=1, description="semantic kNN read queries run at once (Neo4j runs each on one core)")
    index_candidates: int = Field(
        30, ge=1, description="approximate mode: dataset items asked from the vector index per item")
    rebuild_index: bool | None = Field(
        None, description="approximate mode: rebuild the item text vector index before the "
        "search (True), never (False), or None = when this dataset holds at least half of the "
        "indexed items. An index grown by many small writes is split into many Lucene "
        "segments, each searched on its own: measured 2-4x slower at Sports size")
    recall_sample: int = Field(
        100, ge=0, description="approximate mode: source items whose exact kNN measures recall "
        "(0 = no check)")


#: The models ``train.model`` names (the classes behind them: :data:`mllmrec.train.registry.MODELS`).
ModelName = Literal["mllmrec", "hybrid", "lightgcn", "bpr"]
MODEL_NAMES: tuple[str, ...] = get_args(ModelName)


class TrainSettings(_Section):
    """Model and protocol (docs/method.md sections 6-7)."""

    model: ModelName = "mllmrec"
    dim: int = Field(64, ge=1)
    n_ii_layers: int = Field(1, ge=0)
    ui_gcn: bool = False
    n_ui_layers: int = Field(2, ge=1)
    lr: float = Field(1e-3, gt=0)
    batch_size: int = Field(2048, ge=1)
    epochs: int = Field(1000, ge=1)
    patience: int = Field(20, ge=1)
    eval_every: int = Field(
        1, ge=1, description="validate every this many epochs (and after the last): fewer "
        "full-ranking passes on large catalogues; patience still counts epochs")
    seed: int = 2025
    eval_batch_size: int = Field(1024, ge=1)
    topks: list[int] = Field(default_factory=lambda: [10, 20])
    device: Literal["auto", "cpu", "cuda"] = "auto"
    minibatch: bool = False
    fanout: int = Field(-1, description="neighbours sampled per item in mini-batch mode; -1 = all")
    use_user_pref: bool = True
    negatives: Literal["all", "interacted"] = Field(
        "all", description="BPR negatives: uniform over all items, or over the items with at "
        "least one training interaction (as the authors' code); with 'all' an item without "
        "training interactions is only ever a negative")
    runs_dir: Path = Path(".mllmrec/runs")
    warm_start: bool = True
    max_recall_drop: float | None = Field(
        None, ge=0, description="retrain serves the new run only if valid Recall@20 drops less"
    )
    min_gain: float = Field(
        0.0, ge=0, description="tune --serve promotes the study's winner only if its valid "
        "Recall@20 beats the serving run's by more than zero and at least this much"
    )
    threads: int | None = Field(
        None, ge=1, description="CPU threads of torch and DGL kernels while training; None = "
        "library defaults (1 is much faster on an overloaded shared machine)"
    )
    deterministic: bool = Field(
        False, description="same seed, same weights and metrics: deterministic torch kernels "
        "and 1 CPU thread unless threads says otherwise (docs/train.md, Determinism)"
    )

    @field_validator("topks")
    @classmethod
    def _positive(cls, v: list[int]) -> list[int]:
        if not v or any(k <= 0 for k in v):
            raise ValueError("topks must be positive integers")
        return sorted(set(v))

    @model_validator(mode="after")
    def _hybrid_needs_its_towers(self) -> TrainSettings:
        if self.model == "hybrid" and (self.ui_gcn or not self.use_user_pref):
            raise ValueError("model 'hybrid' already propagates ID embeddings over the user-item "
                             "graph and needs the user preference tower: drop ui_gcn / keep "
                             "use_user_pref")
        return self

    @model_validator(mode="after")
    def _reproducible_sampling(self) -> TrainSettings:
        if self.deterministic and self.minibatch and (self.threads or 1) > 1:
            raise ValueError("deterministic mini-batch training needs threads 1: DGL's "
                             "neighbour sampling draws depend on the thread split")
        return self


#: Names the search space of ``tune`` may use, with the settings section each one sets.
TUNABLE: dict[str, str] = {
    "knn_k": "graph", "knn_jac": "graph", "pure": "graph",
    "model": "train", "dim": "train", "lr": "train", "n_ii_layers": "train", "ui_gcn": "train",
    "use_user_pref": "train", "n_ui_layers": "train", "batch_size": "train",
}


class ParamSpace(_Section):
    """One dimension of the search space: ``choices`` (categorical), or a ``low``..``high``
    range (integers when both bounds and ``step`` are integers; ``log`` for a log scale)."""

    choices: list[Any] | None = None
    low: int | float | None = None
    high: int | float | None = None
    step: int | float | None = None
    log: bool = False

    @model_validator(mode="after")
    def _one_kind(self) -> ParamSpace:
        if self.choices is not None:
            if not self.choices:
                raise ValueError("empty list of choices")
            if self.low is not None or self.high is not None or self.step is not None or self.log:
                raise ValueError("give either choices or a low..high range, not both")
            if len({repr(c) for c in self.choices}) != len(self.choices):
                raise ValueError(f"repeated choices in {self.choices}")
            return self
        if self.low is None or self.high is None:
            raise ValueError("give choices, or both low and high")
        if not self.low < self.high:
            raise ValueError(f"empty range: low {self.low} must be below high {self.high}")
        if self.log and self.low <= 0:
            raise ValueError("a log range needs low > 0")
        if self.step is not None and (self.step <= 0 or self.log):
            raise ValueError("step must be positive and cannot be combined with log")
        return self

    @property
    def integer(self) -> bool:
        """Whether the range draws integers (integer bounds and step, if any)."""
        return all(v is None or (isinstance(v, int) and not isinstance(v, bool))
                   for v in (self.low, self.high, self.step))


#: The search space when ``tune.space`` is not set: small enough for ML-100K in about 30
#: minutes on 2 cores (docs/tune.md). Parameters a model does not read are not drawn for it.
DEFAULT_SPACE: dict[str, dict[str, Any]] = {
    "model": {"choices": ["mllmrec", "hybrid", "lightgcn", "bpr"]},
    "lr": {"low": 3e-4, "high": 1e-2, "log": True},
    "ui_gcn": {"choices": [False, True]},
    "use_user_pref": {"choices": [True, False]},
    "knn_k": {"choices": [5, 10, 20]},
    "pure": {"choices": [0.6, 0.7]},
}


class TuneSettings(_Section):
    """``mllmrec tune``: an Optuna study over ``space`` chosen on validation Recall@20."""

    space: dict[str, ParamSpace] | None = Field(
        None, description="parameter -> choices or range; None = DEFAULT_SPACE (a space "
        "given in the config replaces it, it is not merged into it)")
    n_trials: int = Field(16, ge=1, description="finished (complete or pruned) trials the study aims at")
    sampler: Literal["tpe", "random", "grid"] = "tpe"
    pruner: Literal["median", "halving", "none"] = "median"
    startup_trials: int = Field(
        3, ge=0, description="median pruner: trials that finish unpruned before any pruning")
    warmup_epochs: int = Field(
        3, ge=0, description="median pruner: epochs a trial always trains before it may be pruned")
    epochs: int = Field(30, ge=1, description="epoch cap of a trial (train.epochs is not used)")
    patience: int = Field(5, ge=1, description="early-stopping patience of a trial")
    seed: int = Field(2025, description="seed of the sampler (trials train with train.seed)")
    storage: str | None = Field(
        None, description="SQLAlchemy URL of the Optuna storage; None = a SQLite file in "
        "<runs_dir>/<dataset>/studies/<study>/")
    study_name: str | None = Field(None, description="None = the dataset's name")

    @field_validator("space")
    @classmethod
    def _known(cls, v: dict[str, ParamSpace] | None) -> dict[str, ParamSpace] | None:
        if v is None:
            return v
        unknown = sorted(set(v) - set(TUNABLE))
        if unknown:
            raise ValueError(f"unknown parameter(s) {', '.join(unknown)} in the search space; "
                             f"tunable: {', '.join(TUNABLE)}")
        if not v:
            raise ValueError("the search space is empty")
        return v

    @property
    def search_space(self) -> dict[str, ParamSpace]:
        """The space the study searches: ``space``, or :data:`DEFAULT_SPACE`."""
        if self.space is not None:
            return self.space
        return {k: ParamSpace.model_validate(v) for k, v in DEFAULT_SPACE.items()}

    @field_validator("study_name")
    @classmethod
    def _study_name(cls, v: str | None) -> str | None:
        if v is not None and not DATASET_NAME.fullmatch(v):
            raise ValueError(f"'{v}' is not a valid study name: use 1-64 letters, digits, '.', "
                             "'_' or '-', starting with a letter or digit")
        return v


DATASET_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
"""Dataset names: 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit. The
name is part of Neo4j index keys and of run folders (``runs_dir/<dataset>/<run>``), so no path
separators, no leading dot (no '..') and a short length are required."""


class Settings(_Section):
    """The whole configuration. ``dataset`` names the dataset every stage works on."""

    dataset: str = "ml-100k"
    neo4j: Neo4jSettings = Field(default_factory=Neo4jSettings)
    ingest: IngestSettings = Field(default_factory=IngestSettings)
    enrich: EnrichSettings = Field(default_factory=EnrichSettings)
    graph: GraphSettings = Field(default_factory=GraphSettings)
    train: TrainSettings = Field(default_factory=TrainSettings)
    tune: TuneSettings = Field(default_factory=TuneSettings)

    @field_validator("dataset")
    @classmethod
    def _dataset_name(cls, v: str) -> str:
        if not DATASET_NAME.fullmatch(v):
            shown = v if len(v) <= 40 else v[:40] + f"... ({len(v)} characters)"
            raise ValueError(f"'{shown}' is not a valid dataset name: use 1-64 letters, digits, "
                             "'.', '_' or '-', starting with a letter or digit")
        return v

    def with_overrides(self, overrides: dict[str, Any]) -> Settings:
        """Return a copy with dotted-key overrides applied (``{"graph.knn_k": 5}``);
        ``None`` values mean "flag not given" and are ignored."""
        data = self.model_dump()
        for key, value in overrides.items():
            if value is None:
                continue
            _set_dotted(data, key, value)
        return _validate(data, "command-line flags")


_ENV = {
    "NEO4J_URI": "neo4j.uri",
    "NEO4J_USER": "neo4j.user",
    "NEO4J_USERNAME": "neo4j.user",
    "NEO4J_PASSWORD": "neo4j.password",
    "NEO4J_DATABASE": "neo4j.database",
    "MLLMREC_NEO4J_HOME": "neo4j.home",
    "MLLMREC_DATASET": "dataset",
    "OPENAI_API_KEY": "enrich.openai_api_key",
}


def _set_dotted(data: dict[str, Any], key: str, value: Any) -> None:
    parts = key.split(".")
    node = data
    for part in parts[:-1]:
        if part not in node or not isinstance(node[part], dict):
            raise ConfigError(f"unknown configuration section '{part}' in '{key}'")
        node = node[part]
    node[parts[-1]] = value


def _merge(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in top.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def _validate(data: dict[str, Any], source: str) -> Settings:
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        raise ConfigError(f"invalid configuration from {source}: {problems}") from None


def load_settings(
    config_file: str | Path | None = None,
    overrides: dict[str, Any] | None = None,
    environ: dict[str, str] | None = None,
) -> Settings:
    """Build the settings: defaults, then the YAML file, then the environment, then flags."""
    environ = dict(os.environ if environ is None else environ)
    data = Settings().model_dump()
    path = config_file or environ.get("MLLMREC_CONFIG")
    if path:
        path = Path(path)
        if not path.is_file():
            raise ConfigError(f"configuration file not found: {path}")
        try:
            loaded = yaml.safe_load(path.read_text()) or {}
        except yaml.YAMLError as exc:
            raise ConfigError(f"{path}: not valid YAML: {exc}") from None
        if not isinstance(loaded, dict):
            raise ConfigError(f"{path}: the top level must be a mapping of sections")
        data = _merge(data, loaded)
    settings = _validate(data, str(path) if path else "defaults")
    env_overrides = {dotted: environ[name] for name, dotted in _ENV.items() if environ.get(name)}
    if env_overrides:
        settings = settings.with_overrides(env_overrides)
    return settings.with_overrides(overrides or {})
