"""Configuration layering (defaults < YAML < environment < flags) and clear errors."""
from __future__ import annotations

from pathlib import Path

import pytest

from mllmrec.config import Settings, load_settings
from mllmrec.errors import ConfigError


def _yaml(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "mllmrec.yaml"
    path.write_text(text)
    return path


def test_defaults_without_file_or_environment():
    s = load_settings(environ={})
    assert s == Settings()
    assert (s.neo4j.uri, s.ingest.batch_size, s.graph.knn_k) == ("bolt://127.0.0.1:7687", 10_000, 10)


def test_layers_later_wins(tmp_path):
    cfg = _yaml(tmp_path, "dataset: from-yaml\nneo4j:\n  uri: bolt://yaml:7687\n  user: alice\n"
                          "ingest:\n  kcore: 5\n  seed: 1\ngraph:\n  pure: 0.4\n")
    s = load_settings(cfg, environ={})
    assert (s.dataset, s.neo4j.uri, s.neo4j.user, s.ingest.kcore, s.graph.pure) == (
        "from-yaml", "bolt://yaml:7687", "alice", 5, 0.4)
    assert s.graph.knn_k == 10  # untouched fields keep their defaults
    env = {"NEO4J_URI": "bolt://env:7687", "MLLMREC_DATASET": "from-env"}
    s = load_settings(cfg, environ=env)
    assert (s.neo4j.uri, s.neo4j.user, s.dataset) == ("bolt://env:7687", "alice", "from-env")
    s = load_settings(cfg, {"neo4j.uri": "bolt://flag:7687", "ingest.kcore": None,
                            "ingest.seed": 9}, environ=env)
    assert (s.neo4j.uri, s.ingest.kcore, s.ingest.seed) == ("bolt://flag:7687", 5, 9)


def test_config_file_from_environment(tmp_path):
    cfg = _yaml(tmp_path, "ingest:\n  batch_size: 500\n")
    assert load_settings(environ={"MLLMREC_CONFIG": str(cfg)}).ingest.batch_size == 500


@pytest.mark.parametrize("text, field", [
    ("ingest:\n  batch_size: 5\n", "ingest.batch_size"),
    ("ingest:\n  kcore: many\n", "ingest.kcore"),
    ("graph:\n  pure: 3\n", "graph.pure"),
    ("ingest:\n  kcores: 5\n", "ingest.kcores"),
    ("train:\n  topks: [0, 10]\n", "train.topks"),
])
def test_bad_values_name_the_field(tmp_path, text, field):
    with pytest.raises(ConfigError, match=field.replace(".", r"\.")):
        load_settings(_yaml(tmp_path, text), environ={})


def test_bad_flag_and_environment_values_name_the_field():
    with pytest.raises(ConfigError, match=r"command-line flags: ingest\.seed"):
        load_settings(overrides={"ingest.seed": "abc"}, environ={})
    with pytest.raises(ConfigError, match=r"unknown configuration section 'ingestion'"):
        load_settings(overrides={"ingestion.seed": 1}, environ={})


def test_bad_files(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_settings(tmp_path / "missing.yaml", environ={})
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_settings(_yaml(tmp_path, "ingest: [unclosed\n"), environ={})
    with pytest.raises(ConfigError, match="mapping of sections"):
        load_settings(_yaml(tmp_path, "- just\n- a list\n"), environ={})


@pytest.mark.parametrize("name", ["../../x", "a/b", "..", ".hidden", "", "my data", "x" * 65,
                                  "d" * 10_000, "a\nb", "tab\tname"])
def test_unsafe_dataset_names_are_refused(name):
    """Names become run folders (runs_dir/dataset/run) and index keys: no traversal, no
    separators, bounded length."""
    with pytest.raises(ConfigError, match="not a valid dataset name"):
        load_settings(overrides={"dataset": name}, environ={})


@pytest.mark.parametrize("name", ["ml-100k", "Amazon_Baby.2014", "t-0123456789", "x" * 64])
def test_ordinary_dataset_names_pass(name):
    assert load_settings(overrides={"dataset": name}, environ={}).dataset == name


def test_leaky_history_scope_is_never_a_default():
    """The published protocol's all-splits user texts must be asked for explicitly: the config
    default, the profile-users command without the flag and the pipeline's profile stage all
    use 'train'."""
    from mllmrec.cli import _register, cli
    from mllmrec.ops.pipeline import enrichment_mode
    from mllmrec.ops.stages import PROFILE

    assert Settings().enrich.history_scope == "train"
    assert load_settings(environ={}).enrich.history_scope == "train"
    _register()
    command = cli.commands["profile-users"]
    ctx = command.make_context("profile-users", [])
    assert ctx.params["history_scope"] is None  # absent flag: the configuration's value stands
    assert Settings().with_overrides({"enrich.history_scope": None}).enrich.history_scope == "train"
    flag = next(p for p in command.params if p.name == "history_scope")
    assert "[default: train]" in (flag.help or "")
    assert PROFILE.params(Settings())["enrich.history_scope"] == "train"
    leaky = Settings().with_overrides({"enrich.history_scope": "all"})
    assert PROFILE.params(leaky) != PROFILE.params(Settings())  # a switch re-runs the stage
    assert "LEAKY" in enrichment_mode(leaky) and "LEAKY" not in enrichment_mode(Settings())
