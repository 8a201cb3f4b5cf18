"""The search space: which setting each tunable name sets, which models it applies to, and how
an Optuna trial draws a configuration from ``tune.space``.

Parameters are drawn in :data:`ORDER` (the model first), and a parameter is drawn only when it
applies to what was drawn before it: the graph's ``knn_k`` / ``knn_jac`` / ``pure`` only for a
model that reads the item-item graph, ``n_ui_layers`` only for one that propagates over the
user-item graph, MLLMRec's variant flags only for :data:`TEXT_MODELS`. A trial's parameters
are therefore exactly the ones its configuration depends on (Optuna's define-by-run space).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import optuna

from mllmrec.config import TUNABLE, ParamSpace, Settings, TrainSettings
from mllmrec.errors import ConfigError
from mllmrec.train.registry import model_needs

#: Models configured by MLLMRec's variant flags (``ui_gcn``, ``use_user_pref``,
#: ``n_ii_layers``). A text model added to the registry joins here (and to
#: ``config.DEFAULT_SPACE``'s model choices) to be tuned with them.
TEXT_MODELS: tuple[str, ...] = ("mllmrec",)


def _always(ts: TrainSettings) -> bool:
    return True


def _text_model(ts: TrainSettings) -> bool:
    return ts.model in TEXT_MODELS


def _reads_item_graph(ts: TrainSettings) -> bool:
    return model_needs(ts).item_graph


def _propagates_ui(ts: TrainSettings) -> bool:
    return model_needs(ts).ui_graph


@dataclass(frozen=True)
class Param:
    """A tunable name: the settings section it sets and when it applies (given the training
    settings drawn so far)."""

    name: str
    applies: Callable[[TrainSettings], bool]

    @property
    def key(self) -> str:
        """The dotted settings key (``graph.knn_k``)."""
        return f"{TUNABLE[self.name]}.{self.name}"


#: Drawing order: every parameter after the ones its applicability depends on.
ORDER: tuple[Param, ...] = (
    Param("model", _always),
    Param("ui_gcn", _text_model),
    Param("use_user_pref", _text_model),
    Param("n_ii_layers", _text_model),
    Param("n_ui_layers", _propagates_ui),
    Param("knn_k", _reads_item_graph),
    Param("knn_jac", _reads_item_graph),
    Param("pure", _reads_item_graph),
    Param("dim", _always),
    Param("lr", _always),
    Param("batch_size", _always),
)
assert {p.name for p in ORDER} == set(TUNABLE), "every tunable name has a drawing rule"


def overrides(params: dict[str, Any]) -> dict[str, Any]:
    """Dotted settings overrides for a trial's parameters (``{"graph.knn_k": 5}``)."""
    return {f"{TUNABLE[name]}.{name}": value for name, value in params.items()}


def with_params(settings: Settings, params: dict[str, Any]) -> Settings:
    """``settings`` with a trial's parameters applied."""
    return settings.with_overrides(overrides(params))


def suggest(trial: optuna.Trial, settings: Settings, space: dict[str, ParamSpace]) -> Settings:
    """Draw the trial's configuration: each parameter of ``space`` that applies, in
    :data:`ORDER`, applied on top of ``settings``."""
    for param in ORDER:
        spec = space.get(param.name)
        if spec is None or not param.applies(settings.train):
            continue
        settings = settings.with_overrides({param.key: _draw(trial, param.name, spec)})
    return settings


def _draw(trial: optuna.Trial, name: str, spec: ParamSpace) -> Any:
    if spec.choices is not None:
        return trial.suggest_categorical(name, spec.choices)
    assert spec.low is not None and spec.high is not None  # a range (validated)
    if spec.integer:
        return trial.suggest_int(name, int(spec.low), int(spec.high), step=int(spec.step or 1),
                                 log=spec.log)
    return trial.suggest_float(name, float(spec.low), float(spec.high), step=spec.step, log=spec.log)


def check_space(settings: Settings) -> dict[str, ParamSpace]:
    """The study's space, each value it can take checked against the setting it sets: a
    choice or bound the setting refuses, or a range over a yes/no or named setting, or a
    fractional range over an integer setting, is a ConfigError naming the parameter."""
    space = settings.tune.search_space
    for name, spec in space.items():
        key = f"{TUNABLE[name]}.{name}"
        current = getattr(getattr(settings, TUNABLE[name]), name)
        if spec.choices is None:
            if isinstance(current, (bool, str)):
                raise ConfigError(f"tune.space.{name}: {key} takes choices, not a range")
            if isinstance(current, int) and not spec.integer:
                raise ConfigError(f"tune.space.{name}: {key} is an integer; give integer low, "
                                  "high and step")
        for value in spec.choices if spec.choices is not None else (spec.low, spec.high):
            try:
                settings.with_overrides({key: value})
            except ConfigError as exc:
                why = str(exc).split(": ", 1)[-1]
                raise ConfigError(f"tune.space.{name}: {value!r} is not a valid {key} ({why})") from None
    if settings.tune.sampler == "grid" and any(s.choices is None for s in space.values()):
        ranges = [n for n, s in space.items() if s.choices is None]
        raise ConfigError(f"tune.sampler grid needs choices for every parameter; ranges: {', '.join(ranges)}")
    return space
