"""Baselines trained in the same harness (same split, sampler, metrics): BPR-MF and LightGCN.

- BPR-MF (Rendle et al. 2009): free user and item embeddings, score = dot product.
- LightGCN (He et al. 2020): free embeddings propagated over the symmetric normalised training
  user-item graph with DGL, final representation = mean over layers 0..L.
"""
from __future__ import annotations

import dgl
import torch
from torch import nn

from mllmrec.train.model import Recommender, propagate


class BPRMF(Recommender):
    """Matrix factorisation trained with the BPR loss."""

    def __init__(self, n_users: int, n_items: int, dim: int = 64) -> None:
        super().__init__()
        self.user_emb = nn.Embedding(n_users, dim)
        self.item_emb = nn.Embedding(n_items, dim)
        nn.init.xavier_uniform_(self.user_emb.weight)
        nn.init.xavier_uniform_(self.item_emb.weight)

    def all_repr(self) -> tuple[torch.Tensor, torch.Tensor]:
        return self.user_emb.weight, self.item_emb.weight

    def forward(self, users: torch.Tensor, pos: torch.Tensor, neg: torch.Tensor
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        return self.user_emb(users), self.item_emb(pos), self.item_emb(neg)


class LightGCN(Recommender):
    """LightGCN on a DGL graph whose nodes are users then items (``edata['w']`` normalised)."""

    def __init__(self, n_users: int, n_items: int, ui_graph: dgl.DGLGraph, dim: int = 64,
                 n_layers: int = 2) -> None:
        super().__init__()
        self.n_users, self.n_layers, self.ui_graph = n_users, n_layers, ui_graph
        self.user_emb = nn.Embedding(n_users, dim)
        self.item_emb = nn.Embedding(n_items, dim)
        nn.init.xavier_uniform_(self.user_emb.weight)
        nn.init.xavier_uniform_(self.item_emb.weight)

    def all_repr(self) -> tuple[torch.Tensor, torch.Tensor]:
        x = torch.cat([self.user_emb.weight, self.item_emb.weight])
        out = propagate(self.ui_graph, x, self.n_layers, mean=True)
        return out[: self.n_users], out[self.n_users:]
