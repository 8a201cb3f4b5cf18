"""The MLLMRec model (docs/method.md section 6), in the style of PyG's ``LightGCN`` module, and
what every model of the trainer is: :class:`Recommender` and its :class:`ModelNeeds`.

.. math::
    e_i = \\sum_{l=0}^{L} (A^l E)_i, \\qquad
    h_i = W_2\\,\\mathrm{LeakyReLU}(W_1 e_i + b_1) + b_2, \\qquad
    h_u = W'_2\\,\\mathrm{LeakyReLU}(W'_1 p_u + b'_1) + b'_2, \\qquad
    s(u, i) = h_u^\\top h_i

``E`` are the frozen item text embeddings (384-d), ``A`` the normalised item-item graph,
``p_u`` the frozen user preference embeddings; only the two MLPs (384 -> 4d -> d) learn.
Because ``E`` and ``A`` are fixed, ``e`` is computed once, on the CPU, by DGL message passing
(:func:`frozen_item_input`); the model keeps only the result, so its training loop needs
nothing but torch on whatever device it is placed (PyPI's DGL is a CPU build).

Option ``ui_gcn``: ``[h_u; h_i] += sum_{l=0}^{L'} \\hat{A}_{UI}^l \\,\\mathrm{normalize}([h_u; h_i])``
over the symmetric normalised training user-item graph (the authors' "w/ GCN_UI" variant).
Without user preference features (``user_feat=None``) the user side is a free d-dimensional
ID embedding (the ablation "w/o user preference").
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import dgl
import torch
import torch.nn.functional as F
from torch import nn

from mllmrec.errors import StageError

if TYPE_CHECKING:
    from mllmrec.config import TrainSettings
    from mllmrec.train.data import TrainData

#: ``spread(z) = sum_{l=0..L} A^l z`` over the user-item graph, for the output nodes of a
#: propagation (all nodes in full-graph mode, a sampled block's seeds in mini-batch mode)
Spread = Callable[[torch.Tensor], torch.Tensor]


def spmm(g: dgl.DGLGraph, h: torch.Tensor) -> torch.Tensor:
    """``A h`` for a message graph whose edge j -> i carries A_ij. A graph with
    ``ndata['norm']`` is a symmetric normalised one, A = diag(norm) B diag(norm) with B its
    unweighted edges: it is computed as ``norm * (B (norm * h))``, an unweighted DGL SpMM that
    is about 10x faster on CPU than the edge-weighted one (same numbers up to rounding).
    Otherwise the edge weights ``edata['w']`` are used."""
    if "norm" in g.ndata:
        norm = g.ndata["norm"].unsqueeze(1)
        return norm * dgl.ops.copy_u_sum(g, h * norm)
    return dgl.ops.u_mul_e_sum(g, h, g.edata["w"])


def propagate(g: dgl.DGLGraph, x: torch.Tensor, n_layers: int) -> torch.Tensor:
    """``sum_{l=0..n_layers} A^l x`` by message passing (:func:`spmm`)."""
    out, h = x, x
    for _ in range(n_layers):
        h = spmm(g, h)
        out = out + h
    return out


def frozen_item_input(item_feat: torch.Tensor, ii_graph: dgl.DGLGraph | None, n_layers: int
                      ) -> torch.Tensor:
    """``e = sum_{l=0..L} A^l E``, computed once on the CPU (``E`` and ``A`` are frozen); the
    caller places the result on the training device."""
    if ii_graph is None or n_layers == 0:
        return item_feat.float().contiguous()
    with torch.no_grad():
        return propagate(ii_graph.cpu(), item_feat.cpu(), n_layers).float().contiguous()


def mlp(d_in: int, dim: int) -> nn.Sequential:
    """The method's projection: d_in -> 4 dim -> dim with LeakyReLU."""
    return nn.Sequential(nn.Linear(d_in, 4 * dim), nn.LeakyReLU(), nn.Linear(4 * dim, dim))


def distinct_rows(users: torch.Tensor, pos: torch.Tensor, neg: torch.Tensor,
                  user_rows: Spread, item_rows: Spread
                  ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """A BPR batch's representations, each distinct user and item computed once
    (``user_rows`` / ``item_rows`` map indices to rows): the same values and gradients as
    indexing every row, with the towers run on a batch's few thousand entities, not on all."""
    uniq_u, inv_u = torch.unique(users, return_inverse=True)
    uniq_i, inv_i = torch.unique(torch.cat([pos, neg]), return_inverse=True)
    h_i = item_rows(uniq_i)[inv_i]
    return user_rows(uniq_u)[inv_u], h_i[: len(pos)], h_i[len(pos):]


@dataclass(frozen=True)
class ModelNeeds:
    """What a configured model needs: the data to pull from Neo4j and where its graphs run.

    ``ui_graph`` means the model propagates learnable embeddings over the training user-item
    graph at every step (LightGCN, MLLMRec with ``ui_gcn``). Such a model runs DGL message
    passing on the training device (:attr:`graph_on_device`) and is the one neighbour
    sampling trains on sampled blocks (:attr:`neighbour_sampling`). A graph used once, like
    MLLMRec's item-item graph (A.E is computed when the model is built), stays on the CPU.
    """

    name: str  # how messages name the model, e.g. "the UI-GCN variant of MLLMRec"
    item_features: bool = False  # the items' text embeddings
    user_features: bool = False  # the users' preference-text embeddings
    item_graph: bool = False  # the normalised item-item graph of the active build
    ui_graph: bool = False  # propagates learnable embeddings over the user-item graph
    # Embeds an item / a user that no run has seen from its text vector with a trained run's
    # weights, no training (``mllmrec refresh``): :meth:`Recommender.text_item_repr` and
    # :meth:`Recommender.text_user_repr`. ID models (BPR-MF, LightGCN) cannot.
    text_items: bool = False
    text_users: bool = False

    @property
    def graph_on_device(self) -> bool:
        """Whether training runs DGL kernels on the training device (the installed DGL must
        support it: :func:`mllmrec.train.placement.check_device`)."""
        return self.ui_graph

    @property
    def neighbour_sampling(self) -> bool:
        """Whether ``train.minibatch`` can train the model on sampled user-item blocks
        (:class:`mllmrec.train.neighbour_sampling.SampledTraining`)."""
        return self.ui_graph


class Recommender(nn.Module):
    """What the trainer needs from a model: representations of a BPR batch (``forward``) and
    of everyone (``all_repr``); scores are dot products of the two.

    Each model class says what it needs for some settings (:meth:`needs`) and builds itself
    from the pulled data (:meth:`from_data`); :data:`mllmrec.train.registry.MODELS` maps the
    names of ``train.model`` to the classes. A model that propagates over the user-item graph
    (nodes: users 0..M-1, then items) sets ``ui_graph`` and ``n_ui_layers`` and implements
    :meth:`propagate_ui` on the layer-0 rows of :meth:`user_repr` / :meth:`item_repr`, the
    rule that full-graph training and neighbour sampling share.
    """

    n_users: int
    ui_graph: dgl.DGLGraph | None = None
    n_ui_layers: int = 0

    @classmethod
    def needs(cls, ts: TrainSettings) -> ModelNeeds:
        """What this model, configured by ``ts``, needs."""
        raise NotImplementedError

    @classmethod
    def from_data(cls, data: TrainData, ts: TrainSettings) -> Recommender:
        """The model for ``data`` (pulled as :meth:`needs` says), configured by ``ts``, on the CPU."""
        raise NotImplementedError

    def user_repr(self, users: torch.Tensor) -> torch.Tensor:
        """Layer-0 representations of the given users (before any user-item propagation)."""
        raise NotImplementedError

    def item_repr(self, items: torch.Tensor) -> torch.Tensor:
        """Layer-0 representations of the given items (before any user-item propagation)."""
        raise NotImplementedError

    def propagate_ui(self, x: torch.Tensor, spread: Spread) -> torch.Tensor:
        """Final representations of the output nodes of a user-item propagation, from the
        layer-0 rows ``x`` of its input nodes (the output nodes come first)."""
        raise NotImplementedError(f"{type(self).__name__} does not propagate over the user-item graph")

    @classmethod
    def from_weights(cls, state: dict[str, torch.Tensor], ts: TrainSettings) -> Recommender:
        """The model of a stored checkpoint (``state``, trained with ``ts``) on the CPU, with
        no data: what ``refresh`` applies to new items and users. Only models whose
        :meth:`needs` say ``text_items`` or ``text_users`` can be rebuilt so."""
        raise NotImplementedError(f"{cls.__name__} cannot embed new items or users from text")

    @property
    def text_dim(self) -> int:
        """The dimension of the text vectors :meth:`text_item_repr` and :meth:`text_user_repr`
        take (the encoder's), for models that embed from text."""
        raise NotImplementedError(f"{type(self).__name__} takes no text vectors")

    def text_item_repr(self, item_input: torch.Tensor) -> torch.Tensor:
        """Final representations of items no run has seen, from their rows of the propagated
        text input ``sum_l A^l E`` over the graph that includes them: what the trained model
        computes for an item without training interactions (no user-item edges)."""
        raise NotImplementedError(f"{type(self).__name__} cannot embed items from text")

    def text_user_repr(self, user_feat: torch.Tensor) -> torch.Tensor:
        """Final representations of users no run has seen, from their preference-text
        embeddings: what the trained model computes for a user without training
        interactions (no user-item edges)."""
        raise NotImplementedError(f"{type(self).__name__} cannot embed users from text")

    def all_repr(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Final representations of every user and every item (what evaluation ranks with)."""
        raise NotImplementedError

    def forward(self, users: torch.Tensor, pos: torch.Tensor, neg: torch.Tensor
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        u, i = self.all_repr()
        return u[users], i[pos], i[neg]


class MLLMRec(Recommender):
    """MLLMRec: frozen text features, item-item propagation, two MLPs, dot-product score.

    Args:
        item_feat: item text embeddings ``E`` (N x F).
        user_feat: user preference embeddings (M x F), or None for free user embeddings.
        n_users: number of users (used when ``user_feat`` is None).
        dim: output dimension ``d``.
        ii_graph: the normalised item-item message graph (``edata['w']``); None = no propagation.
        n_ii_layers: ``L``.
        ui_graph: the normalised user-item graph; given = the UI-GCN variant.
        n_ui_layers: ``L'``, the layers of the UI-GCN variant.

    Built on the CPU; :func:`mllmrec.train.placement.place` moves it to the training device.
    """

    @classmethod
    def needs(cls, ts: TrainSettings) -> ModelNeeds:
        return ModelNeeds("the UI-GCN variant of MLLMRec" if ts.ui_gcn else "MLLMRec",
                          item_features=True, user_features=ts.use_user_pref,
                          item_graph=ts.n_ii_layers > 0, ui_graph=ts.ui_gcn,
                          text_items=True, text_users=ts.use_user_pref)

    @classmethod
    def from_data(cls, data: TrainData, ts: TrainSettings) -> MLLMRec:
        if data.item_feat is None:
            raise StageError("MLLMRec needs the item text features: pull them with load_data")
        return cls(data.item_feat, data.user_feat if ts.use_user_pref else None, data.n_users,
                   dim=ts.dim, ii_graph=data.ii_graph, n_ii_layers=ts.n_ii_layers,
                   ui_graph=data.ui_graph if ts.ui_gcn else None, n_ui_layers=ts.n_ui_layers)

    def __init__(self, item_feat: torch.Tensor, user_feat: torch.Tensor | None, n_users: int,
                 dim: int = 64, ii_graph: dgl.DGLGraph | None = None, n_ii_layers: int = 1,
                 ui_graph: dgl.DGLGraph | None = None, n_ui_layers: int = 2) -> None:
        super().__init__()
        self.n_items = item_feat.shape[0]
        self.n_users = n_users if user_feat is None else user_feat.shape[0]
        self.register_buffer("item_input", frozen_item_input(item_feat, ii_graph, n_ii_layers),
                             persistent=False)
        if user_feat is not None:
            self.register_buffer("user_input", user_feat.float().contiguous(), persistent=False)
            self.user_mlp: nn.Module = mlp(user_feat.shape[1], dim)
            self.user_emb = None
        else:
            self.user_input = None
            self.user_emb = nn.Embedding(n_users, dim)
            nn.init.xavier_uniform_(self.user_emb.weight)
        self.item_mlp = mlp(item_feat.shape[1], dim)
        self.ui_graph = ui_graph
        self.n_ui_layers = n_ui_layers
        self.ui_gcn = ui_graph is not None  # the UI-GCN variant (also when rebuilt without graph)

    @classmethod
    def from_weights(cls, state: dict[str, torch.Tensor], ts: TrainSettings) -> MLLMRec:
        """The two MLPs (and, without user preferences, the user ID embeddings) of a
        checkpoint; no item input, no graphs: only :meth:`text_item_repr` and
        :meth:`text_user_repr` are meant to be called. A checkpoint of other shapes than
        ``ts`` says (another dimension) fails to load."""
        feat = torch.zeros(0, state["item_mlp.0.weight"].shape[1])
        user_feat = feat if ts.use_user_pref else None
        n_users = 0 if ts.use_user_pref else state["user_emb.weight"].shape[0]
        model = cls(feat, user_feat, n_users, dim=ts.dim, n_ii_layers=0, n_ui_layers=ts.n_ui_layers)
        model.load_state_dict(state)
        model.ui_gcn = ts.ui_gcn
        return model.eval()

    @property
    def text_dim(self) -> int:
        """The dimension of the text embeddings the MLPs take (the encoder's)."""
        return int(self.item_mlp[0].weight.shape[1])

    @property
    def device(self) -> torch.device:
        return self.item_mlp[0].weight.device

    def item_repr(self, items: torch.Tensor) -> torch.Tensor:
        """h_i for the given item indices (no UI-GCN)."""
        return self.item_mlp(self.item_input[items])

    def user_repr(self, users: torch.Tensor) -> torch.Tensor:
        """h_u for the given user indices (no UI-GCN)."""
        if self.user_emb is not None:
            return self.user_emb(users)
        return self.user_mlp(self._user_input()[users])

    def _user_input(self) -> torch.Tensor:
        """The users' preference embeddings (present whenever there is no ID embedding)."""
        assert self.user_input is not None
        return self.user_input

    def propagate_ui(self, x: torch.Tensor, spread: Spread) -> torch.Tensor:
        """``h + sum_{l=0..L'} A^l normalize(h)`` (the UI-GCN variant)."""
        z = spread(F.normalize(x))
        return x[: len(z)] + z

    def _without_ui_edges(self, x: torch.Tensor) -> torch.Tensor:
        """:meth:`propagate_ui` for nodes without user-item edges: only the l = 0 term of
        the spread is non-zero (the normalised graph's rows of such nodes are empty), so the
        UI-GCN variant gives ``h + normalize(h)``; without UI-GCN, ``h``."""
        return x + F.normalize(x) if self.ui_gcn else x

    def text_item_repr(self, item_input: torch.Tensor) -> torch.Tensor:
        return self._without_ui_edges(self.item_mlp(item_input))

    def text_user_repr(self, user_feat: torch.Tensor) -> torch.Tensor:
        if self.user_emb is not None:
            raise NotImplementedError("MLLMRec without user preferences has free user ID "
                                      "embeddings: new users cannot be embedded from text")
        return self._without_ui_edges(self.user_mlp(user_feat))

    def all_repr(self) -> tuple[torch.Tensor, torch.Tensor]:
        dev, n_users = self.device, self.n_users
        h_u = self.user_repr(torch.arange(n_users, device=dev))
        h_i = self.item_repr(torch.arange(self.n_items, device=dev))
        graph = self.ui_graph
        if graph is None:
            return h_u, h_i
        h = self.propagate_ui(torch.cat([h_u, h_i]), lambda z: propagate(graph, z, self.n_ui_layers))
        return h[:n_users], h[n_users:]

    def forward(self, users: torch.Tensor, pos: torch.Tensor, neg: torch.Tensor
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        if self.ui_graph is not None:
            return super().forward(users, pos, neg)
        return distinct_rows(users, pos, neg, self.user_repr, self.item_repr)
