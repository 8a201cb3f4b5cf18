"""Where training runs: the device check and the one function that places tensors and graphs.

Two facts shape this module (docs/stack.md):

- PyPI's ``dgl==2.1.0`` is a CPU build, while PyPI's ``torch==2.2.1`` is a CUDA build. A
  user with a GPU who installs from PyPI can run every torch-only model on the GPU (BPR-MF,
  and MLLMRec, whose frozen product A.E is computed once on the CPU) but not the models that
  propagate over a graph during training (LightGCN, the UI-GCN variant of MLLMRec).
- DGL refuses to mix devices (a CPU feature on a CUDA graph), so every tensor and graph the
  model uses must go through :func:`place`, and a combination the installed libraries cannot
  run is refused before training starts (:func:`check_device`) with the install line to fix it.
"""
from __future__ import annotations

import functools
from typing import TypeVar, cast

import dgl
import torch
from torch import nn

from mllmrec.errors import ConfigError
from mllmrec.train.model import ModelNeeds

CUDA_TORCH_INSTALL = "pip install torch==2.2.1  (PyPI's torch 2.2.1 is the CUDA 12.1 build)"
CUDA_DGL_INSTALL = "pip install dgl==2.1.0 -f https://data.dgl.ai/wheels/torch-2.2/cu121/repo.html"

T = TypeVar("T", bound=torch.Tensor | dgl.DGLGraph | nn.Module)


def torch_can_use(device: torch.device) -> bool:
    """Whether torch can allocate on ``device``."""
    if device.type == "cuda":
        return torch.cuda.is_available()
    try:
        torch.empty(1, device=device)
        return True
    except (RuntimeError, NotImplementedError):
        return False


@functools.cache
def dgl_can_use(device: torch.device) -> bool:
    """Whether the installed DGL can hold a graph and run a message-passing kernel on
    ``device`` (a CPU build of DGL cannot for CUDA). Probed once per device."""
    if device.type == "cpu":
        return True
    if not torch_can_use(device):
        return False
    try:
        g = dgl.graph(([0], [0])).to(device)
        g.edata["w"] = torch.ones(1, device=device)
        dgl.ops.u_mul_e_sum(g, torch.ones(1, 1, device=device), g.edata["w"])
        return True
    except Exception:  # noqa: BLE001 - any failure of the probe means "not usable"
        return False


def check_device(needs: ModelNeeds, device: torch.device) -> None:
    """Refuse, before any work, a model/device combination the installed torch or DGL cannot
    run (a model whose needs say :attr:`~ModelNeeds.graph_on_device` needs DGL there); the
    message names what to install (or which device to use instead)."""
    if not torch_can_use(device):
        if device.type != "cuda":
            why = "this torch build does not support it"
        elif torch.version.cuda is None:
            why = f"this torch is a CPU-only build; install a CUDA build: {CUDA_TORCH_INSTALL}"
        else:
            why = f"this torch is a CUDA {torch.version.cuda} build but sees no GPU (driver, CUDA_VISIBLE_DEVICES?)"
        raise ConfigError(f"torch {torch.__version__} cannot use device '{device}': {why}; "
                          "or use --device cpu (or auto)")
    if needs.graph_on_device and not dgl_can_use(device):
        raise ConfigError(
            f"{needs.name} propagates over a DGL graph on the training device, but the installed "
            f"DGL {dgl.__version__} cannot run on '{device}' (PyPI's dgl is a CPU build). "
            f"Install DGL's CUDA wheel: {CUDA_DGL_INSTALL}; or use --device cpu "
            "(BPR-MF and MLLMRec without --ui-gcn run on the GPU with the PyPI DGL)")


def resolve_device(name: str, needs: ModelNeeds) -> tuple[torch.device, str]:
    """The training device for ``--device name`` and why. ``auto`` picks CUDA when torch sees a
    GPU and the model can run there with the installed DGL, else the CPU; ``cpu``/``cuda`` are
    taken as asked and checked (:func:`check_device`)."""
    if name == "auto":
        cuda = torch.device("cuda")
        if not torch.cuda.is_available():
            return torch.device("cpu"), "auto: torch sees no CUDA GPU"
        if needs.graph_on_device and not dgl_can_use(cuda):
            return torch.device("cpu"), (f"auto: {needs.name} needs DGL on the GPU and the installed "
                                         f"DGL is a CPU build ({CUDA_DGL_INSTALL})")
        return cuda, "auto: CUDA GPU usable"
    device = torch.device(name)
    check_device(needs, device)
    return device, f"asked for {name}"


def place(obj: T, device: torch.device) -> T:
    """Put a tensor, a DGL graph (structure and features) or a module on ``device``.

    For a module: its parameters and buffers, and every DGL graph held as an attribute of it
    or of its submodules (``nn.Module.to`` does not know DGL graphs). This is the only place
    training code moves data between devices."""
    if isinstance(obj, (torch.Tensor, dgl.DGLGraph)):
        return cast(T, obj.to(device))
    obj.to(device)
    for module in obj.modules():
        for name, value in list(vars(module).items()):
            if isinstance(value, dgl.DGLGraph):
                setattr(module, name, value.to(device))
    return obj


def placed_on(module: nn.Module) -> set[torch.device]:
    """Every device a module's parameters, buffers and graph attributes live on (a placed
    module answers one device)."""
    devices = {t.device for t in list(module.parameters()) + list(module.buffers())}
    for sub in module.modules():
        for value in vars(sub).values():
            if isinstance(value, dgl.DGLGraph):
                devices.add(value.device)
                devices.update(t.device for t in list(value.ndata.values()) + list(value.edata.values())
                               if isinstance(t, torch.Tensor))
    return devices
