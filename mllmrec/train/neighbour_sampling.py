"""Neighbour-sampled mini-batch training for the models that propagate learnable embeddings
over the user-item graph (:attr:`~mllmrec.train.model.ModelNeeds.neighbour_sampling`):
LightGCN and the UI-GCN variant of MLLMRec.

Full-graph training propagates every user and item at every step, so a step costs O(|E| d)
however small the batch. Here, per BPR batch, DGL's neighbour sampler
(:class:`dgl.dataloading.NeighborSampler`) draws the L-hop in-neighbourhood blocks around the
batch's users and items (``fanout`` neighbours per node and hop; -1 = all of them) and the
layers are propagated on those blocks only. Sampled sums are rescaled by full / sampled
in-degree, so they are unbiased; with a full fanout the scale is exactly 1 and the scores are
those of full-graph propagation (tests/unit/test_sampling.py). Evaluation still ranks with the
full-graph representations (``all_repr``). Each model's propagation rule
(:meth:`~mllmrec.train.model.Recommender.propagate_ui`) is the one its full-graph
``all_repr`` applies, here given the sums over blocks.

DGL draws the neighbours from its own generator (seeded by ``dgl.seed``); with more than one
thread the draws depend on how seeds are split between threads, so a sampled run is
reproducible only with one thread (``train --deterministic``, docs/train.md).
"""
from __future__ import annotations

from collections.abc import Callable

import dgl
import torch
from torch import nn

from mllmrec.train.model import Recommender

Rows = Callable[[torch.Tensor], torch.Tensor]


def block_spmm(block: dgl.DGLGraph, h: torch.Tensor) -> torch.Tensor:
    """``A h`` on one sampled block, for its output nodes. With node norms (a symmetric
    normalised graph, see :func:`mllmrec.train.model.spmm`) as the unweighted, faster SpMM
    ``dst_norm * (B (src_norm * h))``; otherwise with the edge weights ``edata['w']``."""
    if "src_norm" in block.srcdata:
        return block.dstdata["dst_norm"].unsqueeze(1) * dgl.ops.copy_u_sum(
            block, h * block.srcdata["src_norm"].unsqueeze(1))
    return dgl.ops.u_mul_e_sum(block, h, block.edata["w"])


def propagate_blocks(blocks: list[dgl.DGLGraph], x: torch.Tensor) -> torch.Tensor:
    """``sum_{l=0..L} A^l x`` for the output nodes of sampled ``blocks`` (weights set by
    :class:`BlockSampler`); ``x`` holds the features of the first block's input nodes. A
    block's output nodes are its first input nodes, so each layer's term is a prefix."""
    n_out = blocks[-1].num_dst_nodes()
    out, h = x[:n_out], x
    for block in blocks:
        h = block_spmm(block, h)
        out = out + h[:n_out]
    return out


class BlockSampler:
    """Samples the ``n_layers``-hop blocks around seed nodes of a message graph and sets every
    block's weights, sums rescaled by full / sampled in-degree of the output node: node norms
    when the graph has them (``ndata['norm']``: A_ij = norm_i norm_j), else edge weights."""

    def __init__(self, g: dgl.DGLGraph, n_layers: int, fanout: int = -1) -> None:
        if fanout == 0 or fanout < -1:
            raise ValueError(f"fanout must be -1 (all neighbours) or positive, got {fanout}")
        self.g, self.n_layers = g, n_layers
        self.in_deg = g.in_degrees().float()
        self.sampler = dgl.dataloading.NeighborSampler([fanout] * n_layers)

    def sample(self, seeds: torch.Tensor) -> tuple[torch.Tensor, list[dgl.DGLGraph]]:
        """(input nodes, blocks) for sorted unique ``seeds``; the last block's output nodes
        are ``seeds`` in order."""
        input_nodes, _, blocks = self.sampler.sample_blocks(self.g, seeds.to(self.g.device))
        for block in blocks:
            dst_nodes = block.dstdata[dgl.NID]
            scale = self.in_deg[dst_nodes] / block.in_degrees().clamp(min=1).float()
            if "norm" in self.g.ndata:
                norm = self.g.ndata["norm"]
                block.srcdata["src_norm"] = norm[block.srcdata[dgl.NID]]
                block.dstdata["dst_norm"] = norm[dst_nodes] * scale
            else:
                _, dst = block.edges()
                block.edata["w"] = self.g.edata["w"][block.edata[dgl.EID]] * scale[dst.long()]
        return input_nodes, blocks


def node_rows(nodes: torch.Tensor, n_users: int, user_rows: Rows, item_rows: Rows) -> torch.Tensor:
    """Rows of user-item graph nodes (users 0..M-1, then items): users from ``user_rows``,
    items from ``item_rows`` (by item index), in the order of ``nodes``."""
    is_user = nodes < n_users
    users, items = nodes[is_user], nodes[~is_user] - n_users
    rows = torch.cat([user_rows(users), item_rows(items)])
    order = torch.cat([torch.nonzero(is_user).flatten(), torch.nonzero(~is_user).flatten()])
    return rows[torch.argsort(order)]


class SampledTraining(nn.Module):
    """Mini-batch training of a model that propagates over its ``ui_graph``:
    ``forward(users, pos, neg)`` returns the same triple as the model's own forward,
    propagated on blocks sampled around the batch. Holds the model as a submodule (its parameters are the
    only ones), so an
    optimiser or DistributedDataParallel can wrap this module directly."""

    def __init__(self, model: Recommender, fanout: int = -1) -> None:
        super().__init__()
        if model.ui_graph is None:
            raise ValueError("sampled training needs a model that propagates over the user-item "
                             "graph (LightGCN or MLLMRec with ui_gcn)")
        self.model = model
        self.n_users = model.n_users
        self.blocks = BlockSampler(model.ui_graph, model.n_ui_layers, fanout)

    def forward(self, users: torch.Tensor, pos: torch.Tensor, neg: torch.Tensor
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        nodes = torch.cat([users, pos + self.n_users, neg + self.n_users])
        seeds, inverse = torch.unique(nodes, return_inverse=True)
        input_nodes, blocks = self.blocks.sample(seeds)
        blocks = [b.to(users.device) for b in blocks]
        x = node_rows(input_nodes.to(users.device), self.n_users, self.model.user_repr, self.model.item_repr)
        out = self.model.propagate_ui(x, lambda z: propagate_blocks(blocks, z))[inverse]
        n, m = len(users), len(pos)
        return out[:n], out[n:n + m], out[n + m:]
