"""One training run of the real trainer, measured and reduced to the numbers the report
shows: metrics per split at the best validation epoch, epochs, seconds, peak memory and the
per-epoch curve."""
from __future__ import annotations

import logging
import sys
from typing import Any

from bench.common import measure
from mllmrec.config import Settings
from mllmrec.db import Graph

log = logging.getLogger(__name__)

MODEL_NAMES = {"mllmrec": "MLLMRec", "lightgcn": "LightGCN", "bpr": "BPR-MF"}


def train(graph: Graph, settings: Settings, label: str | None = None) -> dict[str, Any]:
    """Train with ``settings`` (``settings.train.model`` picks the model) through
    :func:`mllmrec.train.trainer.train_model` and return the report's view of the run."""
    from mllmrec.train.trainer import train_model

    with measure() as m:
        result = train_model(graph, settings, progress=sys.stderr.isatty())
    out = summarise(result)
    out.update(model=MODEL_NAMES.get(settings.train.model, settings.train.model),
               label=label or MODEL_NAMES.get(settings.train.model, settings.train.model),
               seconds=m.seconds, peak_rss_mb=m.peak_rss_mb)
    log.info("trained %s: %d epochs (best %s) in %.1fs, test recall@20 %.4f", out["label"],
             out["epochs"], out["best_epoch"], m.seconds, out["test"].get("recall@20", float("nan")))
    return out


def summarise(result: Any) -> dict[str, Any]:
    """Metrics per split, epochs and per-epoch timings of a trainer ``RunSummary``."""
    curve = [{"epoch": h.epoch, "loss": h.loss, "train_seconds": h.train_seconds,
              "eval_seconds": h.eval_seconds,
              **{f"valid_{k}": v for k, v in h.valid.items() if k != "users"}}
             for h in result.history]
    return {"run_id": result.run_id,
            "valid": {k: v for k, v in result.metrics["valid"].items() if k != "users"},
            "test": {k: v for k, v in result.metrics["test"].items() if k != "users"},
            "best_epoch": result.best_epoch, "epochs": result.epochs,
            "seconds_per_epoch": result.seconds_per_epoch,
            "eval_seconds_per_epoch": result.eval_seconds_per_epoch,
            "device": result.device, "curve": curve}
