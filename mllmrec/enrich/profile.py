"""Stage "profile" (docs/method.md section 3): each user's behavioural list, built from TRAINING
interactions only (oldest first, the most recent items that fit), and an LLM's paragraph on
what the user prefers and why.

``enrich.history_scope = "all"`` builds the list from every split instead, as the authors'
script did: a leak of the held-out items into the user features, kept only to measure what
the published protocol inflates. Each text records its scope (``User.preference_scope``), the
StageRun records it in its parameters, and switching scope re-profiles every user.

With ``enrich.no_llm`` the user text is the behavioural list itself (title and category of
each training item, within the encoder's window): the "without reasoning" ablation.
Resumable: a user whose behavioural list, model and prompt version are unchanged is skipped;
a user whose training history (or the items' texts) changed is profiled again.

A text the operator gave for one user (:func:`set_operator_preference`, e.g. a new user with
no history) is the operator's word: this stage leaves it alone.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mllmrec.config import Settings
from mllmrec.db import Store
from mllmrec.enrich.backends import Request
from mllmrec.enrich.common import dataset_domain, generate_and_write, stage_params, write_rows
from mllmrec.enrich.prompts import render
from mllmrec.enrich.report import EMPTY_TEXT, EnrichSummary, ItemFailure
from mllmrec.enrich.texts import behaviour_list, compact_entry, fuse_item_text, list_entry, text_hash
from mllmrec.errors import MllmrecError
from mllmrec.provenance import stage_run

log = logging.getLogger(__name__)

PROMPT_TASK = "profile_user"
NO_LLM_MODEL = "none"
NO_LLM_PROMPT = "behaviour-list"
# Interaction splits (0 train, 1 valid, 2 test, 3 a cold user's given interactions of the
# cold-start protocol, mllmrec.preprocess.GIVEN) each history scope reads. A cold user's text
# is built from the given interactions, which no model trains on and no metric scores.
SCOPE_SPLITS = {"train": [0, 3], "all": [0, 1, 2, 3]}
#: ``preference_scope`` of a text the operator gave (:func:`set_operator_preference`).
OPERATOR = "operator"


@dataclass
class History:
    """A user's behavioural list and what its current preference text was made from."""

    user: str
    items: list[str]
    text: str
    hash: str
    stored_hash: str | None
    stored_model: str | None
    stored_prompt: str | None
    scope: str
    stored_scope: str


def build_histories(store: Store, settings: Settings) -> list[History]:
    """Every user's behavioural list: items of the splits ``enrich.history_scope`` names
    (training only by default), oldest first, the most recent that fit. With no_llm the
    entries are compact (title, category) and the budget is the encoder's window; otherwise
    each entry is the item's fused text."""
    es = settings.enrich
    items = {r["id"]: r for r in store.run("enrich/item_texts", dataset=settings.dataset)}
    if es.no_llm:
        entry = {i: compact_entry(r) for i, r in items.items()}
        budget = es.user_text_max_chars
    else:
        entry = {i: list_entry(r["text"] or fuse_item_text(r)) for i, r in items.items()}
        budget = es.history_max_chars
    out = []
    rows = store.run("enrich/user_histories", dataset=settings.dataset,
                     splits=SCOPE_SPLITS[es.history_scope])
    for row in rows:
        text = behaviour_list([entry[i] for i in row["items"]], es.history_max_items, budget)
        out.append(History(row["id"], row["items"], text, text_hash(text) if text else "",
                           row["history_hash"], row["model"], row["prompt"],
                           es.history_scope, row["scope"]))
    return out


def profile_users(store: Store, settings: Settings,
                  on_batch: Callable[[EnrichSummary], None] | None = None) -> EnrichSummary:
    """Write each user's preference text (and history hash, provenance). Returns counts."""
    es, dataset = settings.enrich, settings.dataset
    domain = dataset_domain(store, dataset, es)
    model = NO_LLM_MODEL if es.no_llm else es.llm_model
    prompt = NO_LLM_PROMPT if es.no_llm else es.prompt_version
    params = stage_params(es, domain=domain)
    if es.history_scope != "train":
        log.warning("profile %s: history_scope=%s puts validation and test items into the user "
                    "texts (the published protocol's leak); for comparison only", dataset,
                    es.history_scope)
    with stage_run(store, dataset, "profile", params) as rec:
        histories = build_histories(store, settings)
        summary = EnrichSummary("profile", total=len(histories))
        todo, stale = [], []
        operator = 0
        for h in histories:
            if h.stored_scope == OPERATOR:  # the operator's word: neither rewritten nor cleared
                summary.skipped += 1
                operator += 1
            elif not h.text:
                summary.fail(f"user {h.user}", ItemFailure(EMPTY_TEXT, "no training interactions"))
                if h.stored_hash:
                    stale.append(h.user)
            elif ((h.hash, model, prompt, h.scope)
                  == (h.stored_hash, h.stored_model, h.stored_prompt, h.stored_scope)):
                summary.skipped += 1
            else:
                todo.append(h)
        log.info("profile %s: %d users, %d to profile with %s (prompt %s, history scope %s), "
                 "%d up to date", dataset, len(histories), len(todo), model, prompt,
                 es.history_scope, summary.skipped)
        if stale:
            store.run("enrich/clear_user_preferences", dataset=dataset, ids=stale)
            summary.extra["cleared"] = len(stale)
        summary.extra["history_scope"] = es.history_scope
        if operator:
            summary.extra["operator_texts"] = operator
        if es.no_llm:
            rows = [_row(h, h.text) for h in todo]
            summary.written = summary.generated = write_rows(
                store, "enrich/set_user_preferences", rows, dataset=dataset, model=model, prompt=prompt)
        elif todo:
            _generate(store, settings, todo, domain, summary, on_batch)
        rec.counts = summary.finish().counts()
    return summary


def _row(h: History, preference: str) -> dict[str, Any]:
    return {"id": h.user, "preference": preference, "preference_hash": text_hash(preference),
            "history_hash": h.hash, "scope": h.scope}


def _generate(store: Store, settings: Settings, todo: list[History], domain: str,
              summary: EnrichSummary, on_batch: Callable[[EnrichSummary], None] | None) -> None:
    es = settings.enrich
    generate_and_write(
        store, settings, es.llm_model, todo, query="enrich/set_user_preferences",
        request=lambda h: Request(render(PROMPT_TASK, es.prompt_version, domain=domain, history=h.text)),
        row=_row, label=lambda h: f"user {h.user}", summary=summary, desc="profile", unit="user",
        on_batch=on_batch)


def set_operator_preference(store: Store, dataset: str, user: str, text: str) -> None:
    """Store a preference text the operator gives for one user (``profile-users --user ID
    --text ...``), e.g. a new user with no training interactions: ``embed`` encodes it and
    ``refresh`` serves the user from it. It is kept apart from generated texts
    (``preference_scope`` 'operator'): the profile stage neither rewrites nor clears it; a new
    operator text replaces it."""
    text = text.strip()
    if not text:
        raise MllmrecError("the preference text is empty")
    if not store.run("enrich/set_operator_preference", dataset=dataset, id=user,
                     preference=text, preference_hash=text_hash(text)):
        raise MllmrecError(f"no user '{user}' in dataset '{dataset}': users come from ingested "
                           "interactions (ingest them first)")
    log.info("%s: operator preference text stored for user %s", dataset, user)
