"""Checkpoints (safetensors) and warm start: weights copied, ID embeddings mapped by id."""
from __future__ import annotations

import pytest
import scipy.sparse as sp
import torch

from mllmrec.errors import StageError
from mllmrec.train.baselines import BPRMF
from mllmrec.train.checkpoint import save_checkpoint, warm_start
from mllmrec.train.data import TrainData, user_item_graph
from mllmrec.train.hybrid import Hybrid
from mllmrec.train.model import MLLMRec


def _data(users: list[str], items: list[str]) -> TrainData:
    empty = sp.csr_matrix((len(users), len(items)))
    return TrainData("d", users, items, {0: empty, 1: empty, 2: empty})


def test_warm_start_maps_id_embeddings_by_id(tmp_path):
    old = _data(["u1", "u2", "u3"], ["a", "b"])
    torch.manual_seed(0)
    before = BPRMF(3, 2, dim=4)
    save_checkpoint(before, tmp_path, old, {"model": "bpr"})
    # the new catalogue drops u2, adds u9 and item c, and orders ids differently
    new = _data(["u3", "u9", "u1"], ["c", "b", "a"])
    after = BPRMF(3, 3, dim=4)
    fresh_u9 = after.user_emb.weight[1].detach().clone()
    assert warm_start(after, tmp_path, new, "bpr") == 2
    u_old, u_new = before.user_emb.weight.detach(), after.user_emb.weight.detach()
    i_old, i_new = before.item_emb.weight.detach(), after.item_emb.weight.detach()
    assert torch.equal(u_new[0], u_old[2]) and torch.equal(u_new[2], u_old[0])
    assert torch.equal(u_new[1], fresh_u9)  # unknown user keeps its initialisation
    assert torch.equal(i_new[1], i_old[1]) and torch.equal(i_new[2], i_old[0])


def test_warm_start_copies_mlps_and_refuses_other_models(tmp_path):
    feat = torch.randn(5, 8)
    data = _data([f"u{k}" for k in range(3)], [f"i{k}" for k in range(5)])
    torch.manual_seed(1)
    a = MLLMRec(feat, torch.randn(3, 8), 3, dim=4)
    save_checkpoint(a, tmp_path, data, {"model": "mllmrec"})
    torch.manual_seed(2)
    b = MLLMRec(feat, torch.randn(3, 8), 3, dim=4)
    warm_start(b, tmp_path, data, "mllmrec")
    for (name, x), (_, y) in zip(a.state_dict().items(), b.state_dict().items()):
        assert torch.equal(x, y), name
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ids.json", "model.safetensors", "run.json"]
    with pytest.raises(StageError, match="cannot warm-start"):
        warm_start(BPRMF(3, 5, 4), tmp_path, data, "bpr")
    with pytest.raises(StageError, match="shape"):
        warm_start(MLLMRec(feat, torch.randn(3, 8), 3, dim=6), tmp_path, data, "mllmrec")


def test_hybrid_warm_start_maps_its_id_rows_by_id_and_copies_the_towers(tmp_path):
    old = _data(["u1", "u2"], ["a", "b", "c"])
    ui_old = user_item_graph(sp.csr_matrix([[1, 0, 1], [0, 1, 0]], dtype="float32"))
    torch.manual_seed(0)
    before = Hybrid(torch.randn(3, 6), torch.randn(2, 6), ui_old, dim=4, n_ii_layers=0)
    save_checkpoint(before, tmp_path, old, {"model": "hybrid"})
    new = _data(["u2", "u7", "u1"], ["c", "a"])  # b gone, a new user u7
    ui_new = user_item_graph(sp.csr_matrix([[1, 0], [0, 1], [1, 1]], dtype="float32"))
    after = Hybrid(torch.randn(2, 6), torch.randn(3, 6), ui_new, dim=4, n_ii_layers=0)
    fresh = after.user_id_emb.weight[1].detach().clone()
    warm_start(after, tmp_path, new, "hybrid")
    u_old, u_new = before.user_id_emb.weight.detach(), after.user_id_emb.weight.detach()
    i_old, i_new = before.item_id_emb.weight.detach(), after.item_id_emb.weight.detach()
    assert torch.equal(u_new[0], u_old[1]) and torch.equal(u_new[2], u_old[0])
    assert torch.equal(u_new[1], fresh)
    assert torch.equal(i_new[0], i_old[2]) and torch.equal(i_new[1], i_old[0])
    assert torch.equal(after.item_mlp[0].weight, before.item_mlp[0].weight)
