"""The MLLMRec model (METHOD.md section 6), in the style of PyG's ``LightGCN`` module.

.. math::
    e_i = \\sum_{l=0}^{L} (A^l E)_i, \\qquad
    h_i = W_2\\,\\mathrm{LeakyReLU}(W_1 e_i + b_1) + b_2, \\qquad
    h_u = W'_2\\,\\mathrm{LeakyReLU}(W'_1 p_u + b'_1) + b'_2, \\qquad
    s(u, i) = h_u^\\top h_i

``E`` are the frozen item text embeddings (384-d), ``A`` the normalised item-item graph,
``p_u`` the frozen user preference embeddings; only the two MLPs (384 -> 4d -> d) learn.
Because ``E`` and ``A`` are fixed, ``e`` is computed once by DGL message passing (full-graph
mode) or, per batch, on sampled neighbourhood blocks (mini-batch mode, for catalogues whose
propagation does not fit; with a full fanout both give the same numbers).

Option ``ui_gcn``: ``[h_u; h_i] += sum_{l=0}^{L'} \\hat{A}_{UI}^l \\,\\mathrm{normalize}([h_u; h_i])``
over the symmetric normalised training user-item graph (the authors' "w/ GCN_UI" variant).
Without user preference features (``user_feat=None``) the user side is a free d-dimensional
ID embedding (the ablation "w/o user preference").
"""
from __future__ import annotations

import dgl
import dgl.function as fn
import torch
import torch.nn.functional as F
from torch import nn


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


def propagate(g: dgl.DGLGraph, x: torch.Tensor, n_layers: int, mean: bool = False) -> torch.Tensor:
    """``sum_{l=0..n_layers} A^l x`` (or the mean over layers) by message passing (:func:`spmm`)."""
    out, h = x, x
    for _ in range(n_layers):
        h = spmm(g, h)
        out = out + h
    return out / (n_layers + 1) if mean else out


def propagate_blocks(blocks: list[dgl.DGLGraph], x: torch.Tensor) -> torch.Tensor:
    """The layer sum of :func:`propagate` for the output nodes of sampled ``blocks`` (whose
    ``edata['w']`` is set); ``x`` holds the features of the first block's input nodes. The
    output nodes are the first nodes of every block, so each layer's sum term is a prefix."""
    n_out = blocks[-1].num_dst_nodes()
    out, h = x[:n_out], x
    for block in blocks:
        with block.local_scope():
            block.srcdata["h"] = h
            block.update_all(fn.u_mul_e("h", "w", "m"), fn.sum("m", "h"))
            h = block.dstdata["h"]
        out = out + h[:n_out]
    return out


class BlockPropagation:
    """Mini-batch item propagation: samples the ``n_layers``-hop in-neighbourhood of the
    requested items with DGL's neighbour sampler (``fanout`` per item and hop, -1 = all) and
    propagates on the blocks. Sampled sums are rescaled by full/sampled in-degree, so they are
    unbiased; with a full fanout the scale is exactly 1."""

    def __init__(self, g: dgl.DGLGraph, feat: torch.Tensor, n_layers: int, fanout: int = -1) -> None:
        self.g, self.feat, self.n_layers = g, feat, n_layers
        self.in_deg = g.in_degrees().float()
        self.sampler = dgl.dataloading.NeighborSampler([fanout] * n_layers)

    def __call__(self, items: torch.Tensor, device: torch.device) -> torch.Tensor:
        if self.n_layers == 0:
            return self.feat[items.cpu()].to(device)
        seeds, inverse = torch.unique(items.cpu(), return_inverse=True)
        input_nodes, _, blocks = self.sampler.sample_blocks(self.g, seeds)
        for block in blocks:
            w = self.g.edata["w"][block.edata[dgl.EID]]
            _, dst = block.edges()
            scale = self.in_deg[block.dstdata[dgl.NID]] / block.in_degrees().clamp(min=1).float()
            block.edata["w"] = w * scale[dst.long()]
        blocks = [b.to(device) for b in blocks]
        return propagate_blocks(blocks, self.feat[input_nodes].to(device))[inverse.to(device)]


def mlp(d_in: int, dim: int) -> nn.Sequential:
    """The method's projection: d_in -> 4 dim -> dim with LeakyReLU."""
    return nn.Sequential(nn.Linear(d_in, 4 * dim), nn.LeakyReLU(), nn.Linear(4 * dim, dim))


class Recommender(nn.Module):
    """What the trainer needs from a model: representations of a BPR batch (``forward``) and
    of everyone (``all_repr``); scores are dot products of the two."""

    def all_repr(self) -> tuple[torch.Tensor, torch.Tensor]:
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
        n_ui_layers: layers of the UI-GCN variant.
        minibatch_fanout: None = full-graph mode; else mini-batch mode with this fanout.
    """

    def __init__(self, item_feat: torch.Tensor, user_feat: torch.Tensor | None, n_users: int,
                 dim: int = 64, ii_graph: dgl.DGLGraph | None = None, n_ii_layers: int = 1,
                 ui_graph: dgl.DGLGraph | None = None, n_ui_layers: int = 2,
                 minibatch_fanout: int | None = None) -> None:
        super().__init__()
        n_ii_layers = n_ii_layers if ii_graph is not None else 0
        self.n_items = item_feat.shape[0]
        self.blocks: BlockPropagation | None = None
        if minibatch_fanout is None:
            with torch.no_grad():
                e = propagate(ii_graph, item_feat, n_ii_layers) if n_ii_layers else item_feat
            self.register_buffer("item_input", e.float().contiguous(), persistent=False)
        else:
            if ui_graph is not None:
                raise ValueError("the UI-GCN variant needs every representation: use full-graph mode")
            self.blocks = BlockPropagation(ii_graph, item_feat, n_ii_layers, minibatch_fanout)
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

    @property
    def device(self) -> torch.device:
        return self.item_mlp[0].weight.device

    def item_repr(self, items: torch.Tensor) -> torch.Tensor:
        """h_i for the given item indices (no UI-GCN)."""
        if self.blocks is not None:
            return self.item_mlp(self.blocks(items, self.device))
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

    def all_repr(self, chunk: int = 8192) -> tuple[torch.Tensor, torch.Tensor]:
        dev = self.device
        n_users = self.user_emb.num_embeddings if self.user_emb is not None else len(self._user_input())
        h_u = self.user_repr(torch.arange(n_users, device=dev))
        h_i = torch.cat([self.item_repr(torch.arange(s, min(s + chunk, self.n_items), device=dev))
                         for s in range(0, self.n_items, chunk)])
        if self.ui_graph is None:
            return h_u, h_i
        z = propagate(self.ui_graph, F.normalize(torch.cat([h_u, h_i])), self.n_ui_layers)
        return h_u + z[:n_users], h_i + z[n_users:]

    def forward(self, users: torch.Tensor, pos: torch.Tensor, neg: torch.Tensor
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        if self.ui_graph is not None:
            return super().forward(users, pos, neg)
        # Each distinct user/item goes through its MLP once per batch (same gradients, fewer FLOPs).
        uniq_u, inv_u = torch.unique(users, return_inverse=True)
        uniq_i, inv_i = torch.unique(torch.cat([pos, neg]), return_inverse=True)
        h_u = self.user_repr(uniq_u)[inv_u]
        h_i = self.item_repr(uniq_i)[inv_i]
        return h_u, h_i[: len(pos)], h_i[len(pos):]
