"""A training run's folder (``<runs_dir>/<dataset>/<run id>/``): the checkpoint and warm start.

The weights are safetensors (never pickles: a checkpoint is only read with safetensors), next
to ``ids.json`` (the user and item id orders the rows follow) and ``run.json`` (run id, model,
settings, best epoch, metrics). A later run warm-starts from them by id, so users and items
may come and go between runs.
"""
from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from mllmrec.config import TrainSettings
from mllmrec.errors import StageError
from mllmrec.train.data import TrainData
from mllmrec.train.model import Recommender

log = logging.getLogger(__name__)


def run_dir(ts: TrainSettings, dataset: str, run_id: str) -> Path:
    """The folder of run ``run_id`` of ``dataset``."""
    return Path(ts.runs_dir) / dataset / run_id


def save_checkpoint(model: Recommender, folder: Path, data: TrainData, meta: dict[str, Any]) -> Path:
    """Weights as safetensors plus the id orders (written once per run folder) and settings
    needed to reuse them."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "model.safetensors"
    save_file({k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}, str(path))
    ids = folder / "ids.json"
    if not ids.exists():
        ids.write_text(json.dumps({"users": data.user_ids, "items": data.item_ids}))
    write_run_meta(folder, meta)
    return path


def write_run_meta(folder: Path, meta: dict[str, Any]) -> None:
    """The checkpoint's ``run.json`` (run id, model, settings, best epoch, metrics)."""
    (folder / "run.json").write_text(json.dumps(meta, indent=1, default=str))


def read_run_meta(folder: Path) -> dict[str, Any]:
    """A run folder's ``run.json``; a clear error when the folder or file is gone."""
    path = folder / "run.json"
    if not path.is_file():
        raise StageError(f"run folder {folder} has no run.json (moved or deleted?)")
    meta: dict[str, Any] = json.loads(path.read_text())
    return meta


def run_settings(meta: dict[str, Any]) -> TrainSettings:
    """The training settings a run was made with (its ``run.json``), not today's."""
    stored = meta.get("settings") or {}
    return TrainSettings.model_validate(
        {k: v for k, v in stored.items() if k in TrainSettings.model_fields})


def load_weights(folder: Path) -> dict[str, torch.Tensor]:
    """A run's weights, read with safetensors (never a pickle)."""
    path = folder / "model.safetensors"
    if not path.is_file():
        raise StageError(f"run folder {folder} has no model.safetensors (moved or deleted?)")
    return load_file(str(path))


def warm_start(model: Recommender, folder: Path, data: TrainData, model_name: str) -> int:
    """Initialise from a previous run's checkpoint. Same-shaped weights are copied; user/item
    ID embeddings are copied row by row for the ids both runs know. Returns the number of
    tensors loaded."""
    meta = json.loads((folder / "run.json").read_text())
    if meta.get("model") != model_name:
        raise StageError(f"cannot warm-start a {model_name} model from a {meta.get('model')} run")
    state = load_file(str(folder / "model.safetensors"))
    ids = json.loads((folder / "ids.json").read_text())
    own = model.state_dict()
    keyed = {f"{kind[:-1]}{name}.weight": (kind, ids)
             for kind, ids in (("users", data.user_ids), ("items", data.item_ids))
             for name in ("_emb", "_id_emb")}  # BPR-MF / LightGCN and the hybrid's ID parts
    loaded = 0
    for name, old in state.items():
        if name not in own:
            continue
        if name in keyed:
            kind, new_ids = keyed[name]
            old_pos = {x: k for k, x in enumerate(ids[kind])}
            pairs = [(k, old_pos[x]) for k, x in enumerate(new_ids) if x in old_pos]
            if pairs and old.shape[1] == own[name].shape[1]:
                new_idx, old_idx = map(torch.tensor, zip(*pairs))
                own[name][new_idx] = old[old_idx].to(own[name].device)
                loaded += 1
        elif old.shape == own[name].shape:
            own[name] = old.to(own[name].device)
            loaded += 1
        else:
            raise StageError(f"checkpoint tensor {name} has shape {tuple(old.shape)}, the model "
                             f"needs {tuple(own[name].shape)} (different dim?)")
    model.load_state_dict(own)
    log.info("warm start from %s: %d tensors", folder, loaded)
    return loaded


def restore_checkpoint(model: Recommender, folder: Path, data: TrainData) -> None:
    """Load a run's checkpoint into a model built from the same data: the run's user and item
    id orders must equal ``data``'s (a changed dataset is an error, never a silent partial
    load; :func:`warm_start` is the tolerant way to reuse weights)."""
    ids = json.loads((folder / "ids.json").read_text())
    if ids["users"] != data.user_ids or ids["items"] != data.item_ids:
        raise StageError(f"the dataset's users or items changed since the run in {folder} was "
                         "trained; its weights no longer line up (train it again)")
    device = next(model.parameters()).device
    model.load_state_dict({k: v.to(device) for k, v in load_weights(folder).items()})
