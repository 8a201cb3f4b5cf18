"""Baselines trained in the same harness as MLLMRec (same split, BPR triples, loss, metrics).

BPR-MF (Rendle et al. 2009), free ID embeddings scored by their dot product:

.. math::
    s(u, i) = e_u^\\top e_i

LightGCN (He et al. 2020), the same free embeddings propagated over the symmetric normalised
training user-item graph ``\\hat{A}`` (users then items, :func:`mllmrec.train.data.user_item_graph`)
by DGL message passing, the final representation being the mean over layers ``0..L``:

.. math::
    [h_U; h_I] = \\frac{1}{L + 1} \\sum_{l=0}^{L} \\hat{A}^l \\, [E_U; E_I], \\qquad
    s(u, i) = h_u^\\top h_i

Both initialise the embeddings Xavier-uniform; only the embeddings learn.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import dgl
import torch
from torch import nn

from mllmrec.train.model import ModelNeeds, Recommender, Spread, propagate

if TYPE_CHECKING:
    from mllmrec.config import TrainSettings
    from mllmrec.train.data import TrainData


class _IdEmbeddings(Recommender):
    """Free user and item ID embeddings (``M x d`` and ``N x d``), Xavier-uniform initialised;
    they are the layer-0 representations."""

    def __init__(self, n_users: int, n_items: int, dim: int = 64) -> None:
        super().__init__()
        self.n_users = n_users
        self.user_emb = nn.Embedding(n_users, dim)
        self.item_emb = nn.Embedding(n_items, dim)
        nn.init.xavier_uniform_(self.user_emb.weight)
        nn.init.xavier_uniform_(self.item_emb.weight)

    def user_repr(self, users: torch.Tensor) -> torch.Tensor:
        return self.user_emb(users)

    def item_repr(self, items: torch.Tensor) -> torch.Tensor:
        return self.item_emb(items)


class BPRMF(_IdEmbeddings):
    """Matrix factorisation trained with the BPR loss.

    Args:
        n_users: number of users ``M``.
        n_items: number of items ``N``.
        dim: embedding dimension ``d``.
    """

    @classmethod
    def needs(cls, ts: TrainSettings) -> ModelNeeds:
        return ModelNeeds("BPR-MF")

    @classmethod
    def from_data(cls, data: TrainData, ts: TrainSettings) -> BPRMF:
        return cls(data.n_users, data.n_items, ts.dim)

    def all_repr(self) -> tuple[torch.Tensor, torch.Tensor]:
        return self.user_emb.weight, self.item_emb.weight

    def forward(self, users: torch.Tensor, pos: torch.Tensor, neg: torch.Tensor
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        return self.user_repr(users), self.item_repr(pos), self.item_repr(neg)


class LightGCN(_IdEmbeddings):
    """LightGCN: BPR-MF's embeddings averaged over ``L`` propagation layers.

    Args:
        n_users: number of users ``M``.
        n_items: number of items ``N``.
        ui_graph: the normalised user-item message graph, nodes ``0..M-1`` users then items
            (``ndata['norm']`` or ``edata['w']``, see :func:`mllmrec.train.model.spmm`).
        dim: embedding dimension ``d``.
        n_ui_layers: ``L``.
    """

    ui_graph: dgl.DGLGraph

    @classmethod
    def needs(cls, ts: TrainSettings) -> ModelNeeds:
        return ModelNeeds("LightGCN", ui_graph=True)

    @classmethod
    def from_data(cls, data: TrainData, ts: TrainSettings) -> LightGCN:
        return cls(data.n_users, data.n_items, data.ui_graph, ts.dim, ts.n_ui_layers)

    def __init__(self, n_users: int, n_items: int, ui_graph: dgl.DGLGraph, dim: int = 64,
                 n_ui_layers: int = 2) -> None:
        super().__init__(n_users, n_items, dim)
        self.ui_graph, self.n_ui_layers = ui_graph, n_ui_layers

    def propagate_ui(self, x: torch.Tensor, spread: Spread) -> torch.Tensor:
        """The mean over layers: ``spread(x) / (L + 1)``."""
        return spread(x) / (self.n_ui_layers + 1)

    def all_repr(self) -> tuple[torch.Tensor, torch.Tensor]:
        x = torch.cat([self.user_emb.weight, self.item_emb.weight])
        out = self.propagate_ui(x, lambda z: propagate(self.ui_graph, z, self.n_ui_layers))
        return out[: self.n_users], out[self.n_users:]
