"""The search space without a database: a trial draws exactly the parameters its model reads,
values land in the settings they name, and spaces a setting cannot take are refused in one
line."""
from __future__ import annotations

import optuna
import pytest

from mllmrec.config import DEFAULT_SPACE, TUNABLE, Settings
from mllmrec.errors import ConfigError
from mllmrec.train.registry import MODELS
from mllmrec.tune.space import ORDER, check_space, overrides, suggest

GRAPH = {"knn_k", "knn_jac", "pure"}
VARIANT = {"ui_gcn", "use_user_pref", "n_ii_layers"}


def _draws(space: dict, n: int = 60) -> list[tuple[dict, Settings]]:
    s = Settings().with_overrides({"tune.space": space})
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=1))
    out = []
    for _ in range(n):
        trial = study.ask()
        drawn = suggest(trial, s, s.tune.search_space)
        out.append((dict(trial.params), drawn))
        study.tell(trial, 0.0)
    return out


def test_each_trial_draws_only_what_its_model_reads():
    space = {"model": {"choices": ["mllmrec", "lightgcn", "bpr"]}, "ui_gcn": {"choices": [False, True]},
             "use_user_pref": {"choices": [True, False]}, "n_ii_layers": {"choices": [0, 1, 2]},
             "n_ui_layers": {"low": 1, "high": 3}, "knn_k": {"choices": [5, 10]},
             "knn_jac": {"low": 5, "high": 20, "step": 5}, "pure": {"low": 0.5, "high": 0.8},
             "lr": {"low": 1e-4, "high": 1e-2, "log": True}, "dim": {"choices": [32, 64]}}
    seen = set()
    for params, s in _draws(space):
        model = params["model"]
        seen.add((model, params.get("ui_gcn"), params.get("n_ii_layers")))
        assert {"lr", "dim"} <= set(params)
        if model == "mllmrec":
            assert set(params) >= VARIANT
            assert (set(params) >= GRAPH) == (params["n_ii_layers"] > 0)
            assert ("n_ui_layers" in params) == params["ui_gcn"]
        else:
            assert not (VARIANT | GRAPH) & set(params)
            assert ("n_ui_layers" in params) == (model == "lightgcn")
        # every drawn value is in the settings it names, integers as integers
        for name, value in params.items():
            got = getattr(getattr(s, TUNABLE[name]), name)
            assert got == value and type(got) is type(value), name
        assert s.graph.knn_jac % 5 == 0 and 1e-4 <= s.train.lr <= 1e-2
    assert {m for m, _, _ in seen} == {"mllmrec", "lightgcn", "bpr"}
    assert overrides({"knn_k": 5, "lr": 0.01}) == {"graph.knn_k": 5, "train.lr": 0.01}


def test_default_space_and_drawing_rules_cover_the_registry():
    assert set(DEFAULT_SPACE["model"]["choices"]) == set(MODELS)
    assert [p.name for p in ORDER][0] == "model"
    assert set(DEFAULT_SPACE) <= set(TUNABLE)
    check_space(Settings())


@pytest.mark.parametrize("space, sampler, phrase", [
    ({"ui_gcn": {"low": 0, "high": 1}}, "tpe", "train.ui_gcn takes choices, not a range"),
    ({"knn_k": {"low": 1.5, "high": 9}}, "tpe", "graph.knn_k is an integer"),
    ({"pure": {"choices": [0.5, 2.0]}}, "tpe", "2.0 is not a valid graph.pure"),
    ({"lr": {"low": 1e-4, "high": 1e-2}}, "grid", "grid needs choices for every parameter; ranges: lr"),
])
def test_spaces_a_setting_cannot_take_are_refused(space, sampler, phrase):
    s = Settings().with_overrides({"tune.space": space, "tune.sampler": sampler})
    with pytest.raises(ConfigError, match=phrase.replace("(", r"\(")):
        check_space(s)
