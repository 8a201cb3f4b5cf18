"""Dataset-level reads and housekeeping: counts per split, listing, dropping."""
from __future__ import annotations

from dataclasses import dataclass

from mllmrec.db import Store
from mllmrec.errors import StageError

SPLIT_NAMES = {0: "train", 1: "valid", 2: "test", 3: "given"}  # 3: cold users' given interactions


@dataclass
class DatasetStats:
    dataset: str
    domain: str | None
    status: str | None
    users: int
    items: int
    splits: dict[int, int]

    @property
    def interactions(self) -> int:
        return sum(self.splits.values())

    @property
    def sparsity(self) -> float:
        cells = self.users * self.items
        return 1.0 - self.interactions / cells if cells else 1.0

    def lines(self) -> list[str]:
        out = [f"dataset       {self.dataset} ({self.domain}, {self.status})",
               f"users         {self.users:,}",
               f"items         {self.items:,}",
               f"interactions  {self.interactions:,}"]
        for split, name in SPLIT_NAMES.items():
            n = self.splits.get(split, 0)
            if name == "given" and not n:
                continue  # only the cold-start protocol has given interactions
            share = n / self.interactions if self.interactions else 0
            out.append(f"  {name:<11} {n:,} ({share:.1%})")
        out.append(f"sparsity      {self.sparsity:.4%}")
        return out


def dataset_stats(store: Store, dataset: str) -> DatasetStats:
    rows = store.run("dataset/counts", dataset=dataset)
    if not rows:
        raise StageError(f"no dataset named '{dataset}' in the database; ingest it first")
    r = rows[0]
    splits = {int(s["split"]): int(s["n"]) for s in r["splits"] if s["split"] is not None}
    return DatasetStats(r["dataset"], r["domain"], r["status"], r["users"], r["items"], splits)


def drop_dataset(store: Store, dataset: str) -> None:
    """Delete a dataset's relationships, then its nodes, in batches."""
    store.run_implicit("dataset/drop_relationships", dataset=dataset)
    store.run_implicit("dataset/drop_nodes", dataset=dataset)
    store.run("dataset/drop_dataset_node", dataset=dataset)
