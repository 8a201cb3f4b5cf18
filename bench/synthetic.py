"""Synthetic catalogues of any size, shaped like the paper's Amazon data, for scaling runs.

Shape (defaults follow Amazon Sports 5-core: 35,598 users, 18,357 items, 296,337
interactions, so about 8.3 interactions per user and 16.1 per item):

- user activity is heavy-tailed: every user has at least ``min_per_user`` interactions and
  the rest is spread by Pareto(2) weights (a few very active users, most near the minimum);
- item popularity is Zipf-like, p(rank r) ~ (r + 10)^-alpha, so a few items are very popular
  (that is what makes co-occurrence expensive);
- items belong to topics; each user has a favourite topic and draws half of their items from
  it (by popularity within the topic), so co-occurrence has community structure;
- item embeddings are unit 384-d vectors around their topic's random centroid with a
  per-topic spread, so same-topic cosines range from about 0.5 to 0.9 and the ``pure``
  threshold has something to cut;
- user embeddings (the stand-in for an encoded behavioural list) are the normalised mean of
  the embeddings of the user's TRAINING items, computed after the split.

Everything is drawn from one ``numpy`` generator seeded by ``seed``: same arguments, same
catalogue, bit for bit.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

from loaders.canonical import Catalogue, make_interactions, make_items

DIM = 384
SPORTS_USERS_PER_INTERACTION = 35_598 / 296_337
SPORTS_ITEMS_PER_INTERACTION = 18_357 / 296_337


@dataclass
class Synthetic:
    """A catalogue (no split labels: ingestion splits it as for real data) and the unit
    embedding of every item, row ``k`` for ``catalogue.items.item_id[k]``; the topic
    structure the embeddings were drawn from (item ``k``'s topic, each topic's centroid and
    spread) lets :func:`make_arrivals` draw new items and users from the same one."""

    catalogue: Catalogue
    item_embeddings: np.ndarray
    item_topics: np.ndarray
    centroids: np.ndarray
    spread: np.ndarray

    @property
    def item_ids(self) -> list[str]:
        return self.catalogue.items["item_id"].tolist()


def _unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def _user_counts(rng: np.random.Generator, n_users: int, n_items: int, n_interactions: int,
                 min_per_user: int) -> np.ndarray:
    extra = n_interactions - n_users * min_per_user
    if extra < 0:
        raise ValueError(f"{n_interactions} interactions cannot give {n_users} users "
                         f"{min_per_user} each")
    weights = rng.pareto(2.0, n_users) + 1.0
    counts = min_per_user + rng.multinomial(extra, weights / weights.sum())
    return np.minimum(counts, max(min_per_user, n_items // 4))


def _draw_items(rng: np.random.Generator, users: np.ndarray, fav: np.ndarray,
                cum: np.ndarray, topic_lo: np.ndarray, topic_hi: np.ndarray,
                in_topic: float) -> np.ndarray:
    """One item per entry of ``users``: with probability ``in_topic`` from the user's
    favourite topic, otherwise from the whole catalogue, by popularity either way.
    ``cum`` is the cumulative popularity of items ordered by topic."""
    r = rng.random(len(users))
    own = rng.random(len(users)) < in_topic
    t = fav[users]
    lo = np.where(own, topic_lo[t], 0.0)
    hi = np.where(own, topic_hi[t], 1.0)
    pos = np.searchsorted(cum, lo + r * (hi - lo), side="right")
    return np.minimum(pos, len(cum) - 1)


def make_synthetic(n_interactions: int, seed: int = 2025, n_users: int | None = None,
                   n_items: int | None = None, alpha: float = 0.9, min_per_user: int = 5,
                   in_topic: float = 0.5, dim: int = DIM) -> Synthetic:
    """A seeded synthetic catalogue with about ``n_interactions`` distinct (user, item)
    pairs (exactly that many unless a very active user hits the cap of a quarter of the
    catalogue). Users and items default to the Amazon Sports ratios."""
    rng = np.random.default_rng(seed)
    n_users = n_users or max(2, round(n_interactions * SPORTS_USERS_PER_INTERACTION))
    n_items = n_items or max(2, round(n_interactions * SPORTS_ITEMS_PER_INTERACTION))
    n_topics = max(2, int(np.sqrt(n_items) / 2))

    # Items are stored ordered by topic; popularity ranks are a random permutation.
    topic_of_item = np.sort(rng.integers(0, n_topics, n_items))
    pop = (rng.permutation(n_items) + 10.0) ** -alpha
    pop /= pop.sum()
    cum = np.cumsum(pop)
    cum[-1] = 1.0
    bounds = np.searchsorted(topic_of_item, np.arange(n_topics + 1))
    starts = np.concatenate([[0.0], cum])
    topic_lo, topic_hi = starts[bounds[:-1]], starts[bounds[1:]]
    fav = rng.integers(0, n_topics, n_users)

    counts = _user_counts(rng, n_users, n_items, n_interactions, min_per_user)
    keys = np.empty(0, dtype=np.int64)
    need = counts.copy()
    while need.sum() > 0:
        users = np.repeat(np.arange(n_users), need)
        items = _draw_items(rng, users, fav, cum, topic_lo, topic_hi, in_topic)
        fresh = np.unique(users.astype(np.int64) * n_items + items)
        fresh = rng.permutation(fresh[~np.isin(fresh, keys)])
        # Keep, per user, a random subset of the new pairs no larger than what is missing.
        user_of = fresh // n_items
        order = np.argsort(user_of, kind="stable")
        fresh, user_of = fresh[order], user_of[order]
        rank = np.arange(len(fresh)) - np.searchsorted(user_of, user_of)
        fresh = fresh[rank < need[user_of]]
        keys = np.concatenate([keys, fresh])
        need -= np.bincount(fresh // n_items, minlength=n_users)
    keys = np.sort(keys)
    u, i = keys // n_items, keys % n_items

    inter = make_interactions(pd.DataFrame({
        "user_id": [f"u{x}" for x in u],
        "item_id": [f"i{x}" for x in i],
        "rating": rng.integers(1, 6, len(keys)).astype("float64"),
        "ts": 1_300_000_000 + rng.integers(0, 10 ** 8, len(keys)),
    }))
    used = np.unique(i)
    items = make_items(pd.DataFrame({
        "item_id": [f"i{x}" for x in used],
        "title": [f"Synthetic product {x}" for x in used],
        "brand": [f"Brand {x % 97}" for x in used],
        "category": [f"Sports & Outdoors > Topic {topic_of_item[x]}" for x in used],
        "description": None,
        "image": None,
    }))
    users_frame = pd.DataFrame({"user_id": [f"u{x}" for x in np.unique(u)]})

    centroids = _unit(rng.standard_normal((n_topics, dim)))
    spread = rng.uniform(0.35, 1.0, n_topics)
    emb = _topic_vectors(rng, centroids, spread, topic_of_item)
    cat = Catalogue(users=users_frame, items=items, interactions=inter, domain="sports products",
                    source=f"synthetic(n={n_interactions}, seed={seed})",
                    meta={"format": "synthetic"})
    return Synthetic(catalogue=cat, item_embeddings=emb[used], item_topics=topic_of_item[used],
                     centroids=centroids, spread=spread)


def _topic_vectors(rng: np.random.Generator, centroids: np.ndarray, spread: np.ndarray,
                   topics: np.ndarray) -> np.ndarray:
    """Unit vectors around the centroids of ``topics``, each topic with its own spread."""
    noise = rng.standard_normal((len(topics), centroids.shape[1])) / np.sqrt(centroids.shape[1])
    return _unit(centroids[topics] + spread[topics, None] * noise)


def user_embeddings(interactions: pd.DataFrame, item_ids: list[str],
                    item_embeddings: np.ndarray) -> tuple[list[str], np.ndarray]:
    """Unit mean of each user's TRAINING items' embeddings (split 0 only: held-out items
    never shape a user feature). Returns user ids and their rows; users without training
    items are left out."""
    train = interactions[interactions["split"] == 0]
    item_pos = pd.Index(item_ids).get_indexer(train["item_id"])
    users, user_pos = np.unique(train["user_id"].to_numpy(dtype=str), return_inverse=True)
    m = sp.csr_matrix((np.ones(len(train), np.float32), (user_pos, item_pos)),
                      shape=(len(users), len(item_ids)))
    return users.tolist(), _unit(np.asarray(m @ item_embeddings))


@dataclass
class Arrivals:
    """New items and users for a catalogue that has been trained, as an operator would get
    them in (``mllmrec ingest`` of an incremental catalogue): ``history`` holds the users with
    a few interactions (no split labels: ingestion labels them as for any new user; every
    new item is in it), ``no_history`` the users whose only interaction is a held-out one
    (labelled test, as the e2e refresh test does), served from an operator's preference text.
    Both carry the metadata of every item, old and new, so an ingest keeps the old items'.
    ``item_embeddings`` row ``k`` is the vector of ``item_ids[k]``; ``text_vectors`` row
    ``k`` stands in for the encoded operator text of ``no_history_users[k]``."""

    history: Catalogue
    no_history: Catalogue
    item_ids: list[str]
    item_embeddings: np.ndarray
    no_history_users: list[str]
    text_vectors: np.ndarray

    @property
    def user_ids(self) -> list[str]:
        return (self.history.users["user_id"].tolist()
                + self.no_history.users["user_id"].tolist())


def make_arrivals(syn: Synthetic, n_items: int, n_users: int, seed: int = 2025,
                  no_history: float = 0.2, per_user: tuple[int, int] = (3, 8),
                  in_topic: float = 0.5) -> Arrivals:
    """``n_items`` new items (``n0``..) and ``n_users`` new users (``nu0``..) drawn from the
    topic structure of ``syn``: a new user has a favourite topic; a share ``no_history`` of
    them has one test interaction with an old item of that topic and a text vector near its
    centroid; the others have ``per_user`` (low, high) interactions: the new items they
    introduce (item ``k`` goes to history user ``k mod n``, in that user's topic), the rest
    old items by popularity, from the favourite topic with probability ``in_topic``. Seeded;
    ``syn`` is not changed."""
    rng = np.random.default_rng([seed, 19])
    n_topics = len(syn.centroids)
    n_text = round(no_history * n_users)
    n_hist = n_users - n_text
    if n_items and not n_hist:
        raise ValueError("new items need users with a history to be ingested with")
    fav = rng.integers(0, n_topics, n_users)
    owner = np.arange(n_items) % max(n_hist, 1)
    new_topics = fav[owner]
    new_emb = _topic_vectors(rng, syn.centroids, syn.spread, new_topics)
    new_items = [f"n{k}" for k in range(n_items)]
    users = [f"nu{k}" for k in range(n_users)]

    old = np.array(syn.item_ids, dtype=object)
    pop = syn.catalogue.interactions["item_id"].value_counts().reindex(old).to_numpy(float)
    everything = np.arange(len(old))
    by_topic = [np.flatnonzero(syn.item_topics == t) for t in range(n_topics)]
    by_topic = [pool if len(pool) else everything for pool in by_topic]  # a topic without items

    def draw(pool: np.ndarray, m: int) -> list[str]:
        """``m`` distinct old items of ``pool`` (fewer if it is smaller), by popularity."""
        m = min(m, len(pool))
        if m == 0:
            return []
        picked = rng.choice(pool, m, replace=False, p=pop[pool] / pop[pool].sum())
        return old[picked].tolist()

    pairs: list[tuple[str, str]] = []
    for u in range(n_hist):
        mine = [new_items[k] for k in np.flatnonzero(owner == u)]
        rest = max(0, int(rng.integers(per_user[0], per_user[1] + 1)) - len(mine))
        own = int(rng.binomial(rest, in_topic))
        drawn = draw(by_topic[fav[u]], own) + draw(everything, rest - own)
        pairs += [(users[u], i) for i in dict.fromkeys(mine + drawn)]
    lone = [(users[u], draw(by_topic[fav[u]], 1)[0]) for u in range(n_hist, n_users)]

    items = make_items(pd.concat([syn.catalogue.items, pd.DataFrame({
        "item_id": new_items,
        "title": [f"New synthetic product {k}" for k in range(n_items)],
        "brand": [f"Brand {k % 97}" for k in range(n_items)],
        "category": [f"Sports & Outdoors > Topic {t}" for t in new_topics],
        "description": None, "image": None})], ignore_index=True))

    def catalogue(rows: list[tuple[str, str]], split: int | None, part: str) -> Catalogue:
        frame = pd.DataFrame(rows, columns=["user_id", "item_id"])
        frame["rating"] = rng.integers(1, 6, len(frame)).astype("float64")
        frame["ts"] = 1_400_000_000 + rng.integers(0, 10 ** 6, len(frame))
        if split is not None:
            frame["split"] = split
        return Catalogue(users=pd.DataFrame({"user_id": pd.unique(frame["user_id"])}),
                         items=items, interactions=make_interactions(frame),
                         domain=syn.catalogue.domain,
                         source=f"synthetic arrivals {part}(items={n_items}, users={n_users}, "
                                f"seed={seed})", meta={"format": "synthetic"})

    return Arrivals(history=catalogue(pairs, None, "with history "),
                    no_history=catalogue(lone, 2, "without history "),
                    item_ids=new_items, item_embeddings=new_emb,
                    no_history_users=users[n_hist:],
                    text_vectors=_topic_vectors(rng, syn.centroids, syn.spread, fav[n_hist:]))
