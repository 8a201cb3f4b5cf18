"""Item text fusion and behavioural lists: pure functions shared by every enrichment stage.

The 256-token limit of the sentence encoder: the fused item text puts the short metadata
fields first (title, brand, category), then the image description, and the free-text
metadata description LAST. The paper puts the description before the image description
(docs/method.md section 2); we move it behind because shop descriptions are often hundreds of words long
and would push the image description past the encoder's window, whereas the image
description is at most ~100 words. What truncation may cut is then the tail of the
metadata description only. ``embed`` counts the texts longer than the encoder's window.
"""
from __future__ import annotations

import re
from collections.abc import Sequence

from mllmrec.provenance import fingerprint

_WS = re.compile(r"\s+")

# (node property, label in the fused text), in fused order.
FUSED_FIELDS = (
    ("title", "Title"),
    ("brand", "Brand"),
    ("category", "Category"),
    ("image_description", "Appearance"),
    ("description", "Description"),
)


def clean(value: object) -> str:
    """The value as one line of text ('' for None/blank); whitespace runs collapsed."""
    if value is None:
        return ""
    return _WS.sub(" ", str(value)).strip()


def fuse_item_text(fields: dict[str, object], with_image_description: bool = True) -> str:
    """One text per item: labelled non-empty fields, one per line, in FUSED_FIELDS order.
    ``with_image_description=False`` gives the metadata-only text (the --no-llm ablation)."""
    lines = []
    for key, label in FUSED_FIELDS:
        if key == "image_description" and not with_image_description:
            continue
        value = clean(fields.get(key))
        if value:
            lines.append(f"{label}: {value}")
    return "\n".join(lines)


def text_hash(text: str) -> str:
    """Stable short hash of a text (detects changed texts without comparing them)."""
    return fingerprint(text)


def list_entry(item_text: str) -> str:
    """An item's fused text as one line of a behavioural list."""
    return clean(item_text.replace("\n", "; "))


def compact_entry(fields: dict[str, object]) -> str:
    """Title and category only: the --no-llm user text must fit the encoder's window."""
    title, category = clean(fields.get("title")), clean(fields.get("category"))
    if title and category:
        return f"{title} ({category})"
    return title or category


def behaviour_list(entries: Sequence[str], max_items: int, max_chars: int) -> str:
    """The behavioural list: ``entries`` are the user's training items oldest first; keep
    the most recent ones that fit ``max_items`` and ``max_chars`` and return them oldest
    first, one numbered line each. An entry alone longer than the budget is cut."""
    kept: list[str] = []
    used = 0
    for entry in reversed([e for e in entries if e]):
        if len(kept) >= max_items:
            break
        line_len = len(entry) + 6  # "NN. " prefix and newline
        if used + line_len > max_chars:
            if not kept:
                kept.append(entry[: max(max_chars - 6, 1)])
            break
        kept.append(entry)
        used += line_len
    kept.reverse()
    return "\n".join(f"{n}. {entry}" for n, entry in enumerate(kept, 1))
