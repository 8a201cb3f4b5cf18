"""One training run of the real trainer, measured and reduced to the numbers the report
shows: metrics per split at the best validation epoch, epochs, seconds, peak memory and the
per-epoch curve."""
from __future__ import annotations

import logging
from typing import Any

from bench.common import measure
from mllmrec.config import Settings
from mllmrec.db import Graph

log = logging.getLogger(__name__)

MODEL_NAMES = {"mllmrec": "MLLMRec", "lightgcn": "LightGCN", "bpr": "BPR-MF"}


def train(graph: Graph, settings: Settings, label: str | None = None) -> dict[str, Any]:
    """Train with ``settings`` (``settings.train.model`` picks the model) and return
    ``{"model", "label", "valid", "test", "best_epoch", "epochs", "seconds",
    "seconds_per_epoch", "peak_rss_mb", "curve"}``."""
    from mllmrec.train.trainer import train_model

    with measure() as m:
        result = train_model(graph, settings)
    out = summarise(result)
    out.update(model=MODEL_NAMES.get(settings.train.model, settings.train.model),
               label=label or settings.train.model, seconds=m.seconds, peak_rss_mb=m.peak_rss_mb)
    log.info("trained %s: valid %s test %s in %.1fs", out["label"], out["valid"], out["test"],
             m.seconds)
    return out


def summarise(result: Any) -> dict[str, Any]:
    """The report's view of a trainer result (filled in once the trainer's result type is
    known)."""
    data = result if isinstance(result, dict) else vars(result)
    return {"valid": data.get("valid", {}), "test": data.get("test", {}),
            "best_epoch": data.get("best_epoch"), "epochs": data.get("epochs"),
            "seconds_per_epoch": data.get("seconds_per_epoch"), "curve": data.get("curve", [])}
