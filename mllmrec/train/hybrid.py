"""The hybrid of MLLMRec and LightGCN (``train.model = "hybrid"``): MLLMRec's two text towers
plus free ID embeddings propagated LightGCN-style over the training user-item graph.

.. math::
    t_u = \\mathrm{MLP}_u(p_u), \\qquad t_i = \\mathrm{MLP}_i(e_i), \\qquad
    e = \\sum_{l=0}^{L} A^l E

    [z_U; z_I] = \\frac{1}{L' + 1} \\sum_{l=0}^{L'} \\hat{A}^l \\, [m_U \\odot X_U; m_I \\odot X_I]

    h_u = t_u + z_u, \\qquad h_i = t_i + z_i, \\qquad s(u, i) = h_u^\\top h_i

``t`` are MLLMRec's towers exactly (frozen text embeddings ``E`` and ``p_u``, item-item graph
``A``, MLPs 384 -> 4d -> d), ``X_U``, ``X_I`` free d-dimensional ID embeddings
(Xavier-uniform), ``\\hat{A}`` the symmetric normalised training user-item graph (users then
items, as LightGCN's) and ``m`` is 1 for a user or item with at least one training interaction,
0 otherwise. A node without training interactions has no edge in ``\\hat{A}`` and ``m = 0``, so
its ID part ``z`` is exactly zero and it is scored by its text alone: a cold item of the
cold-start protocol, or an entity new since training, falls back to MLLMRec. Warm entities get
LightGCN's collaborative signal on top of their text.

The propagation is the UI-GCN machinery (:meth:`propagate_ui`, shared by full-graph training
and ``--minibatch`` neighbour sampling): the layer-0 row of a node is ``[t; m X]`` (2d wide)
and only its ID half is propagated.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import dgl
import torch
from torch import nn

from mllmrec.errors import StageError
from mllmrec.train.model import MLLMRec, ModelNeeds, Spread, distinct_rows, propagate

if TYPE_CHECKING:
    from mllmrec.config import TrainSettings
    from mllmrec.train.data import TrainData


class Hybrid(MLLMRec):
    """MLLMRec's towers plus LightGCN ID embeddings (see the module docstring).

    Args:
        item_feat: item text embeddings ``E`` (N x F).
        user_feat: user preference embeddings (M x F).
        ui_graph: the normalised training user-item graph (users 0..M-1, then items).
        dim: output dimension ``d``.
        ii_graph: the normalised item-item message graph; None = no item-item propagation.
        n_ii_layers: ``L``.
        n_ui_layers: ``L'``, the layers of the ID propagation.
    """

    ui_graph: dgl.DGLGraph

    @classmethod
    def needs(cls, ts: TrainSettings) -> ModelNeeds:
        return ModelNeeds("the hybrid of MLLMRec and LightGCN", item_features=True,
                          user_features=True, item_graph=ts.n_ii_layers > 0, ui_graph=True,
                          text_items=True, text_users=True)

    @classmethod
    def from_weights(cls, state: dict[str, torch.Tensor], ts: TrainSettings) -> MLLMRec:
        """The text towers of a hybrid checkpoint, as an MLLMRec (``refresh``): an entity
        new since training has no training edge, so ``m = 0``, its ID part ``z`` is exactly
        zero and its vector is its text tower's output."""
        towers = {k: v for k, v in state.items() if k.startswith(("item_mlp.", "user_mlp."))}
        return MLLMRec.from_weights(towers, ts)

    @classmethod
    def from_data(cls, data: TrainData, ts: TrainSettings) -> Hybrid:
        if data.item_feat is None or data.user_feat is None:
            raise StageError("the hybrid model needs the item and user text features: pull "
                             "them with load_data")
        return cls(data.item_feat, data.user_feat, data.ui_graph, dim=ts.dim,
                   ii_graph=data.ii_graph, n_ii_layers=ts.n_ii_layers, n_ui_layers=ts.n_ui_layers)

    def __init__(self, item_feat: torch.Tensor, user_feat: torch.Tensor, ui_graph: dgl.DGLGraph,
                 dim: int = 64, ii_graph: dgl.DGLGraph | None = None, n_ii_layers: int = 1,
                 n_ui_layers: int = 2) -> None:
        n_users = user_feat.shape[0]
        super().__init__(item_feat, user_feat, n_users, dim=dim, ii_graph=ii_graph,
                         n_ii_layers=n_ii_layers, ui_graph=ui_graph, n_ui_layers=n_ui_layers)
        self.dim = dim
        self.user_id_emb = nn.Embedding(n_users, dim)
        self.item_id_emb = nn.Embedding(self.n_items, dim)
        nn.init.xavier_uniform_(self.user_id_emb.weight)
        nn.init.xavier_uniform_(self.item_id_emb.weight)
        trained = (ui_graph.in_degrees() > 0).float().unsqueeze(1)  # m: has a training edge
        self.register_buffer("user_trained", trained[:n_users].contiguous(), persistent=False)
        self.register_buffer("item_trained", trained[n_users:].contiguous(), persistent=False)

    def user_repr(self, users: torch.Tensor) -> torch.Tensor:
        """Layer-0 rows ``[t_u; m_u X_u]`` of the given users."""
        return torch.cat([self._user_text(users),
                          self.user_trained[users] * self.user_id_emb(users)], dim=1)

    def item_repr(self, items: torch.Tensor) -> torch.Tensor:
        """Layer-0 rows ``[t_i; m_i X_i]`` of the given items."""
        return torch.cat([self._item_text(items),
                          self.item_trained[items] * self.item_id_emb(items)], dim=1)

    def _user_text(self, users: torch.Tensor) -> torch.Tensor:
        """The user tower's output ``t_u`` of the given users."""
        return self.user_mlp(self._user_input()[users])

    def _item_text(self, items: torch.Tensor) -> torch.Tensor:
        """The item tower's output ``t_i`` of the given items."""
        return self.item_mlp(self.item_input[items])

    def propagate_ui(self, x: torch.Tensor, spread: Spread) -> torch.Tensor:
        """``t + spread(m X) / (L' + 1)``: the text half of the output rows plus the
        LightGCN mean of the ID half."""
        z = spread(x[:, self.dim:]) / (self.n_ui_layers + 1)
        return x[: len(z), : self.dim] + z

    def forward(self, users: torch.Tensor, pos: torch.Tensor, neg: torch.Tensor
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """A full-graph BPR batch. Only the ID half is propagated, so the whole graph is
        spread in d dimensions (as LightGCN's batch) while the text towers run on the batch's
        distinct users and items alone (as MLLMRec's): ``all_repr``'s values and gradients,
        a Sports-sized batch step in about a quarter of the time (0.83 s -> 0.21 s)."""
        n_users = self.n_users
        ids = torch.cat([self.user_trained * self.user_id_emb.weight,
                         self.item_trained * self.item_id_emb.weight])
        z = propagate(self.ui_graph, ids, self.n_ui_layers) / (self.n_ui_layers + 1)
        return distinct_rows(
            users, pos, neg,
            lambda u: self._user_text(u) + z[u],
            lambda i: self._item_text(i) + z[n_users + i])
