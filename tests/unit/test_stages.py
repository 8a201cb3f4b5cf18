"""The pipeline's stages are the stage functions themselves, imported by the stages module:
a missing or misspelt stage is an import error here, never a stage skipped at run time. Every
settings field is in a stage's fingerprint or declared irrelevant, and a declared field that
does not exist fails when it is declared."""
from __future__ import annotations

import inspect

import pytest
from pydantic import BaseModel

from mllmrec.config import GraphSettings, Settings
from mllmrec.enrich.describe import describe_items
from mllmrec.enrich.embed import embed_texts
from mllmrec.enrich.profile import profile_users
from mllmrec.graph.build import build_graph
from mllmrec.ops.stages import BUILD_GRAPH, INGEST, IRRELEVANT, STAGES, TRAIN, Fields
from mllmrec.train.job import train_model


def test_stages_are_the_stage_functions_in_pipeline_order():
    assert [s.name for s in STAGES] == ["describe", "profile", "embed", "build-graph", "train"]
    assert [s.entry for s in STAGES] == [describe_items, profile_users, embed_texts, build_graph,
                                       train_model]


def test_every_stage_takes_store_and_settings():
    for stage in STAGES:
        params = list(inspect.signature(stage.entry).parameters)
        assert params[:2] == ["store", "settings"], (stage.name, params)


def _fingerprinted() -> set[tuple[str, str]]:
    return {(f.key, n) for f in (*(f for s in STAGES for f in s.reads), INGEST) for n in f.names}


def _irrelevant() -> set[tuple[str, str]]:
    return {(i.fields.key, n) for i in IRRELEVANT for n in i.fields.names}


def test_every_settings_field_is_fingerprinted_or_declared_irrelevant():
    sections = {k: f.annotation for k, f in Settings.model_fields.items()
                if isinstance(f.annotation, type) and issubclass(f.annotation, BaseModel)}
    # The one top-level value is the dataset, a parameter of every stage's input query.
    assert set(Settings.model_fields) - set(sections) == {"dataset"}
    every = {(key, name) for key, model in sections.items() for name in model.model_fields}
    fingerprinted, irrelevant = _fingerprinted(), _irrelevant()
    assert not every - fingerprinted - irrelevant, "fields in no fingerprint and not declared irrelevant"
    assert not fingerprinted & irrelevant, "fields declared irrelevant that a stage depends on"
    assert all(i.why.strip() for i in IRRELEVANT)


def test_a_field_the_section_lacks_fails_when_declared():
    with pytest.raises(AttributeError, match="GraphSettings has no field 'knn_kk'"):
        Fields(GraphSettings, lambda g: (g.knn_k, g.knn_kk))
    with pytest.raises(TypeError, match="must only read fields"):
        Fields(GraphSettings, lambda g: (g.knn_k, 3))
    with pytest.raises(TypeError, match="not a section of Settings"):
        Fields(Settings, lambda s: (s.dataset,))


@pytest.mark.parametrize("key,value", [("approximate_above", 10), ("index_candidates", 99)])
def test_semantic_search_settings_change_the_graph_fingerprint(key, value):
    """Both choose which SIMILAR edges the semantic kNN finds (graph/semantic.py)."""
    changed = Settings().with_overrides({f"graph.{key}": value})
    assert BUILD_GRAPH.params(changed) != BUILD_GRAPH.params(Settings())
    assert BUILD_GRAPH.params(changed)[f"graph.{key}"] == value
    assert TRAIN.params(changed) == TRAIN.params(Settings())


def test_params_are_the_declared_fields_by_dotted_name():
    s = Settings().with_overrides({"graph.knn_k": 7, "train.topks": [5, 1]})
    assert set(BUILD_GRAPH.params(s)) == {f"graph.{n}" for n in BUILD_GRAPH.reads[0].names}
    assert BUILD_GRAPH.params(s)["graph.knn_k"] == 7
    assert TRAIN.params(s)["train.topks"] == [1, 5]
    assert INGEST.values(s) == {"kcore": 0, "seed": 2025, "implicit_min_rating": None,
                                "cold_items": 0.0, "cold_users": 0.0, "cold_given": 5}
