"""Co-occurrence graph G_c: each item's top ``knn_jac`` other items by the Jaccard index of
their training audiences, computed and written by Cypher (``cypher/graph/cooccurrence``)."""
from __future__ import annotations

import logging

from mllmrec.db import Store

log = logging.getLogger(__name__)


def build_cooccurrence(store: Store, dataset: str, build_id: str, knn_jac: int,
                       batch_items: int) -> dict[str, int]:
    """Store each item's training degree, then write ``CO_OCCURS`` edges tagged ``build_id``
    (batched server-side, one transaction per ``batch_items`` items). Returns counts."""
    if knn_jac == 0:
        return {"co_occurs_sources": 0, "co_occurs_edges": 0}
    store.run_implicit("graph/train_degree", dataset=dataset, batch=batch_items)
    row = store.run_implicit("graph/cooccurrence", dataset=dataset, build=build_id,
                             knn_jac=knn_jac, batch=batch_items)[0]
    counts = {"co_occurs_sources": int(row["items"]), "co_occurs_edges": int(row["edges"] or 0)}
    log.info("%s: %d CO_OCCURS edges from %d items", dataset, counts["co_occurs_edges"],
             counts["co_occurs_sources"])
    return counts
