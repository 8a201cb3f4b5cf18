"""profile-users: behavioural lists from TRAINING interactions only, LLM preference
paragraphs with provenance (tiny Qwen2-VL, text-only generation), resumability, and
re-profiling of users whose training history changed."""
from __future__ import annotations

import json
import re
from collections import defaultdict

import pytest

from mllmrec.enrich.describe import describe_items
from mllmrec.enrich.profile import build_histories, profile_users
from tests.conftest import run_cli
from tests.fixtures_models import ingest, movie_catalogue, small_catalogue, tiny_settings, tiny_vlm  # noqa: F401

pytestmark = pytest.mark.e2e


@pytest.fixture
def small(store, settings, movie_catalogue):  # noqa: F811
    ingest(store, settings.dataset, small_catalogue(movie_catalogue, 20, 12))
    return settings.dataset


def _interactions(store, dataset):
    """(user -> [(ts, item id, title, split)]) read straight from the graph."""
    rows = store.run_text("MATCH (u:User {dataset: $d})-[x:INTERACTED]->(i:Item) RETURN u.id AS u,"
                          " i.id AS i, i.title AS title, x.ts AS ts, x.split AS split", d=dataset)
    out = defaultdict(list)
    for r in rows:
        out[r["u"]].append((r["ts"], r["i"], r["title"], r["split"]))
    return out


def _listed_titles(text: str) -> list[str]:
    """Titles in a --no-llm list: lines 'N. Title (Year) (Genres)'."""
    return [re.sub(r" \([^()]*\)$", "", re.sub(r"^\d+\. ", "", line)) for line in text.splitlines()]


def test_no_held_out_item_reaches_a_behavioural_list(store, settings, small):
    inter = _interactions(store, small)
    assert sum(1 for v in inter.values() for x in v if x[3] != 0) > 0  # there is held-out data
    # --no-llm lists (the user text itself), with room for every training item
    s = settings.with_overrides({"enrich.no_llm": True, "enrich.history_max_items": 1000,
                                 "enrich.user_text_max_chars": 100_000})
    profile_users(store, s)
    stored = {r["id"]: r["p"] for r in store.run_text(
        "MATCH (u:User {dataset: $d}) RETURN u.id AS id, u.preference AS p", d=small)}
    for user, rows in inter.items():
        train = sorted((ts, i, title) for ts, i, title, split in rows if split == 0)
        held = {title for _, _, title, split in rows if split != 0}
        listed = _listed_titles(stored[user])
        assert listed == [t for _, _, t in train], user  # all training items, oldest first
        assert not held & set(listed), user
    # the LLM's behavioural lists (fused item texts) never name a held-out item either
    describe_items(store, s)
    for h in build_histories(store, settings.with_overrides({"enrich.history_max_chars": 100_000})):
        held = {title for _, _, title, split in inter[h.user] if split != 0}
        titles = set(re.findall(r"Title: (.*?); ", h.text))
        assert titles == {title for _, _, title, split in inter[h.user] if split == 0}
        assert not held & titles


def test_list_keeps_the_most_recent_items_that_fit(store, settings, small):
    inter = _interactions(store, small)
    s = settings.with_overrides({"enrich.no_llm": True, "enrich.history_max_items": 3})
    for h in build_histories(store, s):
        train = sorted((ts, i, title) for ts, i, title, split in inter[h.user] if split == 0)
        assert _listed_titles(h.text) == [t for _, _, t in train[-3:]]


def test_llm_profiles_resume_and_follow_history_changes(store, settings, small, tiny_vlm):  # noqa: F811
    s = tiny_settings(settings, tiny_vlm)

    def crash(summary):
        raise KeyboardInterrupt("killed after the first batch")

    with pytest.raises(KeyboardInterrupt):
        profile_users(store, s, on_batch=crash)
    first = profile_users(store, s)  # the interrupted run is completed: 4 done, 8 to go
    assert (first.generated, first.skipped, first.failed) == (8, 4, 0)
    rows = store.run_text("MATCH (u:User {dataset: $d}) RETURN u.id AS id, u.preference AS p,"
                          " u.preference_model AS m, u.preference_prompt AS v, u.history_hash AS h,"
                          " u.profiled_at IS NOT NULL AS dated", d=small)
    assert all(r["p"] and r["m"] == str(tiny_vlm) and r["v"] == "v1" and r["h"] and r["dated"]
               for r in rows)
    assert profile_users(store, s).generated == 0  # nothing changed: no work
    # one user's validation interaction becomes training: only that user is profiled again
    moved = store.run_text("MATCH (u:User {dataset: $d})-[x:INTERACTED {split: 1}]->() "
                           "WITH u, x ORDER BY u.id LIMIT 1 SET x.split = 0 RETURN u.id AS id", d=small)
    again = profile_users(store, s)
    assert (again.generated, again.skipped) == (1, 11)
    new = {r["id"]: r["h"] for r in store.run_text(
        "MATCH (u:User {dataset: $d}) RETURN u.id AS id, u.history_hash AS h", d=small)}
    old = {r["id"]: r["h"] for r in rows}
    assert [u for u in new if new[u] != old[u]] == [moved[0]["id"]]


def test_user_without_training_items_is_counted_not_fatal(store, settings, small):
    s = settings.with_overrides({"enrich.no_llm": True})
    profile_users(store, s)
    user = store.run_text("MATCH (u:User {dataset: $d}) WITH u ORDER BY u.id LIMIT 1 "
                          "MATCH (u)-[x:INTERACTED]->() SET x.split = 2 RETURN DISTINCT u.id AS id",
                          d=small)[0]["id"]
    summary = profile_users(store, s)
    assert summary.failures["empty_text"] == 1 and summary.extra["cleared"] == 1
    assert summary.skipped == 11
    # the old text, built from items that are now held out, is gone
    left = store.run_text("MATCH (u:User {dataset: $d, id: $u}) RETURN u.preference AS p, "
                          "u.history_hash AS h", d=small, u=user)[0]
    assert left == {"p": None, "h": None}


def test_all_splits_scope_is_explicit_labelled_and_reverted(store, neo4j_settings, settings, small):
    """--history-scope all (the published protocol's leak) puts held-out items into the text,
    and every user, the StageRun and status say so; going back to 'train' re-profiles them."""
    inter = _interactions(store, small)
    d = ["--dataset", small]
    res = run_cli([*d, "profile-users", "--no-llm", "--history-scope", "all"], neo4j_settings)
    assert res.exit_code == 0, res.output
    assert "history_scope: all" in res.output and "leaky" in res.output
    stored = {r["id"]: r for r in store.run_text(
        "MATCH (u:User {dataset: $d}) RETURN u.id AS id, u.preference AS p, "
        "u.preference_scope AS scope", d=small)}
    assert {r["scope"] for r in stored.values()} == {"all"}
    leaked = 0
    for user, rows in inter.items():
        held = {title for _, _, title, split in rows if split != 0}
        leaked += bool(held & set(_listed_titles(stored[user]["p"])))
    assert leaked > 0  # the stored texts do name held-out items
    roomy = {"enrich.no_llm": True, "enrich.history_max_items": 1000,
             "enrich.user_text_max_chars": 100_000}
    for h in build_histories(store, settings.with_overrides({**roomy, "enrich.history_scope": "all"})):
        every = sorted((ts, i, title) for ts, i, title, _ in inter[h.user])  # all splits, by time
        assert _listed_titles(h.text) == [t for _, _, t in every], h.user
    params = json.loads(store.run_text(
        "MATCH (s:StageRun {dataset: $d, stage: 'profile'}) RETURN s.params AS p "
        "ORDER BY s.started_at DESC LIMIT 1", d=small)[0]["p"])
    assert params["history_scope"] == "all"
    status = run_cli([*d, "status"], neo4j_settings)
    assert "user texts were built from ALL splits" in status.output, status.output
    # back to the default: every user whose text held a held-out item is profiled again
    back = profile_users(store, settings.with_overrides({"enrich.no_llm": True, **roomy}))
    leaked_users = {u for u, rows in inter.items() if any(x[3] != 0 for x in rows)}
    assert back.generated >= len(leaked_users) > 0
    assert back.generated + back.skipped + back.failed == len(inter)
    assert {r["scope"] for r in store.run_text(
        "MATCH (u:User {dataset: $d}) WHERE u.preference IS NOT NULL "
        "RETURN DISTINCT u.preference_scope AS scope", d=small)} == {"train"}
    assert "ALL splits" not in run_cli([*d, "status"], neo4j_settings).output
