"""The pipeline's stages are the stage functions themselves, imported by the stages module:
a missing or misspelt stage is an import error here, never a stage skipped at run time."""
from __future__ import annotations

import inspect

from mllmrec.enrich.describe import describe_items
from mllmrec.enrich.embed import embed_texts
from mllmrec.enrich.profile import profile_users
from mllmrec.graph.build import build_graph
from mllmrec.ops.stages import STAGES
from mllmrec.train.trainer import train_model


def test_stages_are_the_stage_functions_in_pipeline_order():
    assert [s.name for s in STAGES] == ["describe", "profile", "embed", "build-graph", "train"]
    assert [s.run for s in STAGES] == [describe_items, profile_users, embed_texts, build_graph,
                                       train_model]


def test_every_stage_takes_graph_and_settings():
    for stage in STAGES:
        params = list(inspect.signature(stage.run).parameters)
        assert params[:2] == ["graph", "settings"], (stage.name, params)
