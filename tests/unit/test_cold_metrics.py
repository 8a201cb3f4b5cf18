"""Cold-start evaluation (mllmrec/train/metrics.py: cold_groups, split_metrics) and the
reference methods (mllmrec/train/reference.py) against dense per-user numpy references."""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import torch

from mllmrec.train.data import GIVEN, TEST, TRAIN, VALID, TrainData
from mllmrec.train.metrics import dot_scorer, split_metrics
from mllmrec.train.reference import reference_scorer

M, N, K = 40, 30, 5


def _cold_data(seed: int = 0) -> TrainData:
    """Users 0-7 cold (given + held-out only), items 24-29 cold (held out only)."""
    rng = np.random.default_rng(seed)
    cold_u = np.arange(M) < 8
    cold_i = np.arange(N) >= 24
    label = np.full((M, N), -1)
    inter = rng.random((M, N)) < 0.35
    draw = rng.random((M, N))
    label[inter] = np.where(draw[inter] < 0.6, TRAIN, np.where(draw[inter] < 0.8, VALID, TEST))
    label[inter & cold_i[None, :]] = np.where(draw[inter & cold_i[None, :]] < 0.5, VALID, TEST)
    cu = inter & cold_u[:, None] & (label == TRAIN)
    label[cu] = GIVEN  # cold users: no training, their "training" draws become given ones
    splits = {s: sp.csr_matrix((label == s).astype(np.float32)) for s in (TRAIN, VALID, TEST, GIVEN)}
    data = TrainData("d", [f"u{k}" for k in range(M)], [f"i{k}" for k in range(N)], splits,
                     cold_users=cold_u, cold_items=cold_i)
    data.item_feat = torch.tensor(rng.normal(size=(N, 6)), dtype=torch.float32)
    return data


def _reference(scores: np.ndarray, known: np.ndarray, truth: np.ndarray,
               candidates: np.ndarray) -> dict[str, float]:
    """Recall/NDCG@K by a stable sort per user, known and non-candidate items excluded."""
    recall, ndcg = [], []
    for u in np.flatnonzero(truth.any(axis=1)):
        s = scores[u].astype(np.float64).copy()
        s[known[u] | ~candidates] = -np.inf
        top = np.argsort(-s, kind="stable")[:K]
        hits = truth[u, top]
        recall.append(hits.sum() / truth[u].sum())
        dcg = (hits / np.log2(np.arange(2, K + 2))).sum()
        ndcg.append(dcg / (1 / np.log2(np.arange(2, min(truth[u].sum(), K) + 2))).sum())
    return {f"recall@{K}": float(np.mean(recall)), f"ndcg@{K}": float(np.mean(ndcg))}


def _check(got: dict[str, dict[str, float]], scores: np.ndarray, data: TrainData) -> None:
    known = (data.known.toarray() > 0)
    cu, ci = data.cold_users, data.cold_items
    every = np.ones(N, dtype=bool)
    for name, split in (("valid", VALID), ("test", TEST)):
        truth = data.splits[split].toarray() > 0
        warm = truth & ~cu[:, None] & ~ci[None, :]
        cold = truth & ~cu[:, None] & ci[None, :]
        expected = {name: (truth, every), f"{name}_warm": (warm, every),
                    f"{name}_cold_items": (cold, every), f"{name}_cold_among_cold": (cold, ci),
                    f"{name}_cold_users": (truth & cu[:, None], every)}
        for key, (t, cand) in expected.items():
            want = _reference(scores, known, t, cand)
            for metric, value in want.items():
                assert abs(got[key][metric] - value) < 1e-6, (key, metric)
            assert got[key]["users"] == int(t.any(axis=1).sum())


def test_split_metrics_by_cold_group_match_dense_reference():
    data = _cold_data()
    assert data.cold and not (data.train.toarray()[:8] > 0).any()
    rng = np.random.default_rng(1)
    u = torch.tensor(rng.normal(size=(M, 4)), dtype=torch.float32)
    i = torch.tensor(rng.normal(size=(N, 4)), dtype=torch.float32)
    got = split_metrics(dot_scorer(u, i), torch.device("cpu"), data, [K], batch_size=7)
    _check(got, (u @ i.T).numpy(), data)
    # given interactions are masked, never counted as hits: they are in no held-out group
    assert not (data.splits[GIVEN].multiply(data.splits[TEST])).nnz


def test_each_user_is_scored_once_per_split_for_every_group():
    """The groups of a split share one scoring pass (text-kNN's max cosine is costly)."""
    data = _cold_data()
    rng = np.random.default_rng(2)
    score = dot_scorer(torch.tensor(rng.normal(size=(M, 4)), dtype=torch.float32),
                       torch.tensor(rng.normal(size=(N, 4)), dtype=torch.float32))
    scored: list[int] = []

    def counting(users: torch.Tensor) -> torch.Tensor:
        scored.extend(users.tolist())
        return score(users)

    split_metrics(counting, torch.device("cpu"), data, [K], batch_size=7)
    with_targets = [np.flatnonzero(data.splits[s].getnnz(axis=1)) for s in (VALID, TEST)]
    assert sorted(scored) == sorted(np.concatenate(with_targets).tolist())


def test_text_knn_popularity_and_random_match_numpy():
    data = _cold_data(2)
    e = data.item_feat.numpy().astype(np.float64)
    unit = e / np.linalg.norm(e, axis=1, keepdims=True)
    cos = unit @ unit.T
    known = data.known.toarray() > 0
    users = torch.arange(M)
    want_max = np.stack([cos[known[u]].max(axis=0) if known[u].any() else np.zeros(N)
                         for u in range(M)])
    want_mean = np.stack([cos[known[u]].mean(axis=0) if known[u].any() else np.zeros(N)
                          for u in range(M)])
    np.testing.assert_allclose(reference_scorer("text-knn-max", data)(users).numpy(), want_max, atol=1e-5)
    np.testing.assert_allclose(reference_scorer("text-knn-mean", data)(users).numpy(), want_mean, atol=1e-5)
    pop = reference_scorer("popularity", data)(users).numpy()
    np.testing.assert_array_equal(pop, np.tile(data.train.toarray().sum(axis=0), (M, 1)))
    assert (pop[:, 24:] == 0).all()  # cold items: never trained, popularity 0
    a = reference_scorer("random", data, seed=3)(users).numpy()
    np.testing.assert_array_equal(a, reference_scorer("random", data, seed=3)(users).numpy())
    assert not np.array_equal(a, reference_scorer("random", data, seed=4)(users).numpy())
    # the metrics of a reference method go through the same harness
    got = split_metrics(reference_scorer("text-knn-max", data), torch.device("cpu"), data, [K], 16)
    _check(got, want_max, data)
