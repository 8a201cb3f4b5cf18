"""The one place a model is chosen by its ``train.model`` name.

Each model class says what it needs (:meth:`~mllmrec.train.model.Recommender.needs`) and
builds itself from the pulled data (:meth:`~mllmrec.train.model.Recommender.from_data`);
the trainer, the pull and the device check ask the configured model's needs from here.
"""
from __future__ import annotations

from pathlib import Path

import torch

from mllmrec.config import MODEL_NAMES, TrainSettings
from mllmrec.db import Store
from mllmrec.train.baselines import BPRMF, LightGCN
from mllmrec.train.checkpoint import load_weights, read_run_meta, run_settings
from mllmrec.train.data import TrainData, load_train_data
from mllmrec.train.hybrid import Hybrid
from mllmrec.train.model import MLLMRec, ModelNeeds, Recommender
from mllmrec.train.placement import check_device, place

MODELS: dict[str, type[Recommender]] = {"bpr": BPRMF, "hybrid": Hybrid, "lightgcn": LightGCN,
                                        "mllmrec": MLLMRec}
if set(MODELS) != set(MODEL_NAMES):  # the names the settings accept are the classes here
    raise ImportError(f"train.registry.MODELS {sorted(MODELS)} != config.MODEL_NAMES {sorted(MODEL_NAMES)}")


def model_needs(ts: TrainSettings) -> ModelNeeds:
    """What the model ``ts`` configures needs."""
    return MODELS[ts.model].needs(ts)


def load_data(store: Store, dataset: str, ts: TrainSettings, build: str | None = None,
              test: bool = True) -> TrainData:
    """Pull exactly what the configured model needs (the item-item graph of graph build
    ``build``, default the active one; no test interactions with ``test=False``)."""
    needs = model_needs(ts)
    return load_train_data(store, dataset, features=needs.item_features, item_graph=needs.item_graph,
                           user_features=needs.user_features, build=build, test=test)


def build_model(data: TrainData, ts: TrainSettings, device: torch.device) -> Recommender:
    """The configured model, built on the CPU (MLLMRec computes A.E there once) and placed on
    ``device`` by :func:`~mllmrec.train.placement.place`; a combination the installed DGL
    cannot run there is refused first."""
    check_device(model_needs(ts), device)
    return place(MODELS[ts.model].from_data(data, ts), device)


def text_model(folder: Path) -> tuple[TrainSettings, ModelNeeds, Recommender | None]:
    """The model of a run folder rebuilt for embedding new items and users from their texts
    (``mllmrec refresh``), with the settings it was trained with and its needs; None (weights
    not even read) when the model cannot (``needs.text_items`` and ``needs.text_users`` both
    false: BPR-MF, LightGCN)."""
    ts = run_settings(read_run_meta(folder))
    needs = model_needs(ts)
    if not (needs.text_items or needs.text_users):
        return ts, needs, None
    return ts, needs, MODELS[ts.model].from_weights(load_weights(folder), ts)
