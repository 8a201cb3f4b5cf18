"""Top-K metrics against hand-computed cases, and independence from the evaluation batch size."""
from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from mllmrec.train.metrics import evaluate, top_k


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
