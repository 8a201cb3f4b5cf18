"""A small MovieLens-shaped dataset, generated from a seed, written in MovieLens 100K's own
file formats so tests exercise the real loader (and ``pipeline run --source movielens``)
without the non-redistributable ML-100K.

Shape: a few hundred users and items; every user has at least 20 ratings (ML-100K's rule,
so the 8:1:1 split of docs/method.md section 1 applies to everyone) and every item at least
5 (a 5-core filter keeps everything). It has structure a recommender can learn: items belong
to one or two genres, titles use words typical of their first genre, and each user prefers
one or two genres and rates those items more often and higher. Popularity falls with the item
id, as in ML-100K. The last few item ids are released late: all their ratings come after
every other rating, so a cut of the earliest 95% by timestamp leaves them out (new items for
retraining tests). Each item has a poster: a small JPEG coloured by its first genre.

Files (``write_movielens``): ``<root>/ml/u.data`` (user, item, rating, timestamp, tab
separated), ``<root>/ml/u.item`` (pipe separated, latin-1, 19 genre flags) and
``<root>/posters/ml100k_item_to_ml1m_poster.csv`` with ``<root>/posters/images/*.jpg``.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

# The genre columns of ML-100K's u.item, in file order (the format, not the loader's copy).
GENRE_COLUMNS = ["unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime",
                 "Documentary", "Drama", "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery",
                 "Romance", "Sci-Fi", "Thriller", "War", "Western"]
# Genres used here, with title words and a poster colour for each.
GENRE_WORDS = {
    "Action": ["Fury", "Strike", "Bullet", "Vengeance", "Blast", "Commando", "Firefight", "Rampage"],
    "Comedy": ["Wedding", "Roommates", "Prank", "Vacation", "Uncle", "Slapstick", "Party", "Mixup"],
    "Drama": ["Letters", "Winter", "Silence", "Daughter", "Harvest", "Memory", "Widow", "Promise"],
    "Horror": ["Crypt", "Haunting", "Blood", "Nightmare", "Zombie", "Curse", "Ghoul", "Scream"],
    "Romance": ["Love", "Kiss", "Sweetheart", "Paris", "Moonlight", "Valentine", "Desire", "Heart"],
    "Sci-Fi": ["Galaxy", "Robot", "Starship", "Android", "Planet", "Cyborg", "Orbit", "Alien"],
    "Western": ["Outlaw", "Saloon", "Sheriff", "Frontier", "Canyon", "Gunslinger", "Ranch", "Stagecoach"],
    "Animation": ["Bunny", "Dragon", "Toyland", "Penguin", "Kitten", "Puppet", "Balloon", "Fairy"],
}
COLOURS = {"Action": (200, 40, 30), "Comedy": (240, 200, 40), "Drama": (70, 70, 120),
           "Horror": (20, 20, 20), "Romance": (230, 110, 160), "Sci-Fi": (40, 160, 220),
           "Western": (170, 110, 50), "Animation": (90, 200, 90)}
_ADJECTIVES = ["The Last", "Return of the", "Midnight", "The Great", "Silent", "Lost",
               "The Secret", "Wild", "Golden", "Broken", "Little", "Dark"]
T0, T1, T2 = 874_724_710, 891_000_000, 893_286_638  # ML-100K's time span; late items after T1
MIN_USER, MIN_ITEM = 20, 5


@dataclass(frozen=True)
class SyntheticMovieLens:
    """Where the files are, and what was written (ids as strings, as the loader reads them)."""

    folder: Path  # u.data, u.item
    posters: Path  # ml100k_item_to_ml1m_poster.csv and images/
    ratings: pd.DataFrame  # user, item, rating, ts: every u.data row, file order
    items: pd.DataFrame  # item, title, genres (list), late (bool)


def generate(seed: int = 0, n_users: int = 200, n_items: int = 300,
             n_late: int = 10) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(ratings, items) of the dataset, deterministic per seed; see the module docstring."""
    rng = np.random.default_rng(seed)
    genres = list(GENRE_WORDS)
    first = rng.integers(len(genres), size=n_items)
    second = np.where(rng.random(n_items) < 0.3, rng.integers(len(genres), size=n_items), first)
    item_genres = [sorted({genres[a], genres[b]}, key=GENRE_COLUMNS.index) for a, b in zip(first, second)]
    titles: list[str] = []
    for k in range(n_items):
        while True:
            words = GENRE_WORDS[genres[first[k]]]
            title = (f"{_ADJECTIVES[rng.integers(len(_ADJECTIVES))]} {words[rng.integers(len(words))]}"
                     f" ({rng.integers(1930, 1999)})")
            if title not in titles:
                titles.append(title)
                break
    late = np.arange(n_items) >= n_items - n_late
    popularity = 1.0 / (np.arange(n_items) + 10.0) ** 0.7

    item_sets = [{genres.index(g) for g in gs} for gs in item_genres]
    liked = [set(rng.choice(len(genres), size=rng.integers(1, 3), replace=False).tolist())
             for _ in range(n_users)]
    rows: list[tuple[int, int]] = []
    for user in range(n_users):
        fits = np.array([bool(s & liked[user]) for s in item_sets])
        weight = popularity * np.where(fits, 10.0, 1.0) * np.where(late, 0.3, 1.0)
        n = int(rng.integers(MIN_USER, 61))
        rows += [(user, int(i)) for i in rng.choice(n_items, size=n, replace=False, p=weight / weight.sum())]
    raters: list[set[int]] = [set() for _ in range(n_items)]
    for user, item in rows:
        raters[item].add(user)
    for item in range(n_items):  # every item gets at least MIN_ITEM ratings
        for user in rng.permutation(n_users):
            if len(raters[item]) >= MIN_ITEM:
                break
            if int(user) not in raters[item]:
                raters[item].add(int(user))
                rows.append((int(user), item))

    users = np.array([u for u, _ in rows])
    items = np.array([i for _, i in rows])
    ts = np.where(late[items], rng.integers(T1 + 1, T2, size=len(rows)), rng.integers(T0, T1, size=len(rows)))
    fits = np.array([bool(item_sets[i] & liked[u]) for u, i in rows])
    rating = np.clip(np.rint(np.where(fits, 4.0, 2.8) + rng.normal(0, 0.9, len(rows))), 1, 5).astype(int)
    ratings = pd.DataFrame({"user": (users + 1).astype(str), "item": (items + 1).astype(str),
                            "rating": rating, "ts": ts})
    ratings = ratings.iloc[rng.permutation(len(ratings))].reset_index(drop=True)
    catalogue = pd.DataFrame({"item": [str(k + 1) for k in range(n_items)], "title": titles,
                              "genres": item_genres, "late": late})
    return ratings, catalogue


def write_movielens(root: Path, seed: int = 0, **shape: int) -> SyntheticMovieLens:
    """Generate the dataset (``shape``: n_users, n_items, n_late) and write its files."""
    from PIL import Image, ImageDraw

    ratings, items = generate(seed, **shape)
    folder, posters = root / "ml", root / "posters"
    (posters / "images").mkdir(parents=True)
    folder.mkdir()
    ratings.to_csv(folder / "u.data", sep="\t", header=False, index=False)
    rng = np.random.default_rng(seed)
    lines, mapping = [], ["ml100k_item_id,poster_file"]
    for row in items.itertuples(index=False):
        year = row.title[-5:-1]
        flags = "|".join("1" if g in row.genres else "0" for g in GENRE_COLUMNS)
        lines.append(f"{row.item}|{row.title}|01-Jan-{year}||http://example.org/{row.item}|{flags}")
        image = Image.new("RGB", (64, 96), COLOURS[row.genres[0]])
        x, y = (int(v) for v in rng.integers(0, 40, size=2))
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        ImageDraw.Draw(image).rectangle((x, y + 20, x + 24, y + 50), fill=colour)
        image.save(posters / "images" / f"{row.item}.jpg", quality=85)
        mapping.append(f"{row.item},images/{row.item}.jpg")
    (folder / "u.item").write_text("\n".join(lines) + "\n", encoding="latin-1")
    (posters / "ml100k_item_to_ml1m_poster.csv").write_text("\n".join(mapping) + "\n")
    return SyntheticMovieLens(folder, posters, ratings, items)
