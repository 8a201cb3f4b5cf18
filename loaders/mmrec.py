"""MMRec processed folders: ``<name>.inter`` (tab-separated, header ``userID itemID
[rating] [timestamp] x_label``) whose ``x_label`` (0 train, 1 valid, 2 test) is kept exactly
as it is, plus an optional item metadata CSV keyed by the same ``itemID``."""
from __future__ import annotations

from pathlib import Path

from loaders.canonical import Catalogue, make_items, users_from
from loaders.csv_files import read_interactions, read_items
from mllmrec.errors import InputDataError


def inter_file(folder: Path, name: str | None) -> Path:
    """``<folder>/<name>.inter``; without a name, ``<folder>/<folder name>.inter`` or the
    folder's only ``.inter`` file."""
    if name:
        path = folder / f"{name}.inter"
        if not path.is_file():
            raise InputDataError(path, "MMRec interaction file not found")
        return path
    path = folder / f"{folder.name}.inter"
    if path.is_file():
        return path
    found = sorted(folder.glob("*.inter"))
    if len(found) == 1:
        return found[0]
    listed = ", ".join(p.name for p in found) or "none"
    raise InputDataError(folder, f"cannot tell which .inter file to load (found: {listed}); "
                         "pass --name")


def load_mmrec(folder: str | Path, name: str | None = None,
               items: str | Path | None = None) -> Catalogue:
    """Load an MMRec folder; the domain is the dataset name (e.g. 'baby')."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InputDataError(folder, "MMRec folder not found")
    path = inter_file(folder, name)
    inter = read_interactions(path, sep="\t", require_split=True)
    item_frame = read_items(items) if items is not None else make_items(
        inter[["item_id"]].drop_duplicates())
    return Catalogue(users=users_from(inter), items=item_frame, interactions=inter,
                     domain=path.stem.replace("_", " "), source=str(path),
                     meta={"format": "mmrec", "items": str(items or "")},
                     item_metadata=items is not None)
