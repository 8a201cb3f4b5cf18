"""Top-K metrics against hand-computed cases, against an independent per-user reference on
the synthetic MovieLens-shaped ratings, and independence from the evaluation batch size."""
from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from mllmrec.train.metrics import evaluate, top_k
from tests.synthetic import generate


def _csr(rows: list[list[int]], n_items: int) -> sp.csr_matrix:
    r = [u for u, items in enumerate(rows) for _ in items]
    c = [i for items in rows for i in items]
    return sp.csr_matrix((np.ones(len(c)), (r, c)), shape=(len(rows), n_items))


def _eval(scores: list[list[float]], train: list[list[int]], held: list[list[int]], ks, bs=1024):
    s = torch.tensor(scores, dtype=torch.float32)
    n = s.shape[1]
    # user_repr = scores, item_repr = identity: user_repr @ item_repr.T reproduces the scores.
    return evaluate(s, torch.eye(n), _csr(train, n), _csr(held, n), ks, bs)


def test_ties_masking_and_k_beyond_catalogue():
    # Item 0 is a training item (masked). Items 1 and 2 tie at 0.5: item 1 ranks first.
    # Ranking: 4 (0.7), 1 (0.5), 2 (0.5), 3 (0.1), 0 (masked). Held out: {2, 3}.
    m = _eval([[0.9, 0.5, 0.5, 0.1, 0.7]], [[0]], [[2, 3]], [2, 3, 10])
    assert m["recall@2"] == 0 and m["ndcg@2"] == 0 and m["precision@2"] == 0
    assert m["recall@3"] == pytest.approx(0.5)
    assert m["precision@3"] == pytest.approx(1 / 3)
    assert m["ndcg@3"] == pytest.approx((1 / math.log2(4)) / (1 + 1 / math.log2(3)))
    # K = 10 > 5 items: every item is ranked, hits at ranks 3 and 4, precision over K.
    assert m["recall@10"] == pytest.approx(1.0)
    assert m["precision@10"] == pytest.approx(2 / 10)
    assert m["ndcg@10"] == pytest.approx((1 / math.log2(4) + 1 / math.log2(5)) / (1 + 1 / math.log2(3)))
    assert m["users"] == 1


def test_fewer_heldout_than_k_and_users_without_heldout_excluded():
    scores = [[0.1, 0.2, 0.3, 0.4],   # user 0: held out {3}, ranked first
              [0.4, 0.3, 0.2, 0.1],   # user 1: held out {2, 3}, ranked 2nd and 3rd (0 is train)
              [0.5, 0.5, 0.5, 0.5]]   # user 2: nothing held out -> not averaged
    m = _eval(scores, [[], [0], [1]], [[3], [2, 3], []], [3])
    assert m["users"] == 2
    # user 0: 1 hit of 1 at rank 1 -> recall 1, ndcg 1 (ideal over min(1, 3) = 1 position)
    # user 1: ranking 1, 2, 3 -> hits at ranks 2, 3 -> recall 1
    ndcg1 = (1 / math.log2(3) + 1 / math.log2(4)) / (1 + 1 / math.log2(3))
    assert m["recall@3"] == pytest.approx(1.0)
    assert m["ndcg@3"] == pytest.approx((1 + ndcg1) / 2)
    assert m["precision@3"] == pytest.approx((1 / 3 + 2 / 3) / 2)


def test_top_k_is_stable_on_ties_and_clipped():
    s = torch.tensor([[1.0, 2.0, 2.0, 0.0, 2.0]])
    assert top_k(s, 4).tolist() == [[1, 2, 4, 0]]
    assert top_k(s, 9).shape == (1, 5)


def test_same_numbers_for_any_eval_batch_size():
    rng = np.random.default_rng(0)
    n_users, n_items = 120, 80
    u = torch.from_numpy(rng.normal(size=(n_users, 8)).astype(np.float32))
    i = torch.from_numpy(rng.normal(size=(n_items, 8)).astype(np.float32))
    inter = rng.random((n_users, n_items))
    train = sp.csr_matrix(inter < 0.1)
    held = sp.csr_matrix((inter >= 0.1) & (inter < 0.15))
    results = [evaluate(u, i, train, held, [5, 10, 20, 50], bs) for bs in (1, 7, 64, 1000)]
    assert all(r == results[0] for r in results[1:])
    # and against a plain per-user reference
    ref = []
    for user in range(n_users):
        truth = set(held[user].indices)
        if not truth:
            continue
        s = (u[user] @ i.T).numpy().astype(np.float64)
        s[train[user].indices] = -np.inf
        ranked = sorted(range(n_items), key=lambda x: (-s[x], x))[:20]
        ref.append(len(truth & set(ranked)) / len(truth))
    assert results[0]["recall@20"] == pytest.approx(float(np.mean(ref)), abs=1e-12)


def test_top_k_equals_stable_sort_with_ties_across_the_cut():
    gen = torch.Generator().manual_seed(0)
    scores = torch.randint(0, 4, (200, 30), generator=gen).float()  # many ties everywhere
    scores[::7, :25] = -torch.inf  # rows with fewer finite items than k
    for k in (1, 5, 20, 29, 30, 40):
        expected = torch.sort(scores, dim=1, descending=True, stable=True).indices[:, :k]
        assert torch.equal(top_k(scores, k), expected)


def _reference(u: np.ndarray, i: np.ndarray, train: sp.csr_matrix, held: sp.csr_matrix,
               ks: list[int]) -> dict[str, float]:
    """Straightforward full ranking: per user, float64 scores, training items dropped, items
    ordered by (score descending, index ascending), metrics from the definitions."""
    sums = {f"{m}@{k}": 0.0 for m in ("recall", "ndcg", "precision") for k in ks}
    n_users = 0
    for user in range(u.shape[0]):
        truth = set(held[user].indices.tolist())
        if not truth:
            continue
        n_users += 1
        seen = set(train[user].indices.tolist())
        s = i @ u[user]
        ranked = sorted((x for x in range(i.shape[0]) if x not in seen), key=lambda x: (-s[x], x))
        ranked += sorted(seen)  # masked items rank last, in item order
        for k in ks:
            hit_ranks = [r for r, x in enumerate(ranked[:k], start=1) if x in truth]
            ideal = sum(1 / math.log2(p + 1) for p in range(1, min(len(truth), k) + 1))
            sums[f"recall@{k}"] += len(hit_ranks) / len(truth)
            sums[f"precision@{k}"] += len(hit_ranks) / k
            sums[f"ndcg@{k}"] += sum(1 / math.log2(r + 1) for r in hit_ranks) / ideal
    return {name: total / n_users for name, total in sums.items()} | {"users": n_users}


def _movielens_split() -> tuple[sp.csr_matrix, sp.csr_matrix]:
    """The synthetic ratings (tests/synthetic.py) split at random, 80% train / 20% held out
    (seeded)."""
    ratings, _ = generate(seed=0)
    users = ratings["user"].astype(np.int64).to_numpy() - 1
    items = ratings["item"].astype(np.int64).to_numpy() - 1
    held = np.random.default_rng(0).random(len(ratings)) < 0.2
    shape = (int(users.max()) + 1, int(items.max()) + 1)
    def csr(mask: np.ndarray) -> sp.csr_matrix:
        return sp.csr_matrix((np.ones(int(mask.sum())), (users[mask], items[mask])), shape=shape)
    return csr(~held), csr(held)


@pytest.mark.parametrize("levels", [3, 64])
def test_movielens_metrics_match_independent_reference(levels):
    """Scores are exact in float32 (small multiples of 1/8 in 16 dimensions), so the blocked
    torch path and the float64 reference must agree on every ranking: 3 levels give heavy
    ties (the tie rule is exercised on every user), 64 levels nearly none."""
    train, held = _movielens_split()
    rng = np.random.default_rng(levels)
    u = rng.integers(-levels, levels + 1, (train.shape[0], 16)) / 8
    i = rng.integers(-levels, levels + 1, (train.shape[1], 16)) / 8
    ks = [5, 10, 20, 50]
    expected = _reference(u, i, train, held, ks)
    for bs in (97, 1024):
        got = evaluate(torch.tensor(u, dtype=torch.float32), torch.tensor(i, dtype=torch.float32),
                       train, held, ks, bs)
        assert got["users"] == expected["users"] > 190  # of 200 users
        for name, value in expected.items():
            assert got[name] == pytest.approx(value, abs=1e-6), name
