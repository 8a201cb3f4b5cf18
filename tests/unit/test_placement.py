"""The device check and the one placement function (mllmrec/train/placement.py).

No GPU exists on the test machines; torch's ``meta`` device stands in for "a device torch can
use and the installed DGL cannot" (exactly the CUDA torch + PyPI DGL situation), so both the
refusal and the placement walk run for real on the CPU."""
from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from mllmrec.config import TrainSettings
from mllmrec.errors import ConfigError
from mllmrec.train.baselines import BPRMF, LightGCN
from mllmrec.train.data import user_item_graph
from mllmrec.train.model import MLLMRec
from mllmrec.train.placement import (
    CUDA_DGL_INSTALL,
    check_device,
    dgl_can_use,
    place,
    placed_on,
    resolve_device,
    torch_can_use,
)
from mllmrec.train.registry import model_needs

META, CPU = torch.device("meta"), torch.device("cpu")


def _ui_graph():
    r = sp.csr_matrix((np.random.default_rng(0).random((6, 5)) < 0.5).astype(np.float32))
    return user_item_graph(r)


def test_meta_stands_for_a_device_torch_has_and_dgl_lacks():
    assert torch_can_use(META) and not dgl_can_use(META)
    assert torch_can_use(CPU) and dgl_can_use(CPU)


def _needs(model: str, ui_gcn: bool = False):
    return model_needs(TrainSettings(model=model, ui_gcn=ui_gcn))


@pytest.mark.parametrize("model,ui_gcn,name", [("lightgcn", False, "LightGCN"),
                                               ("mllmrec", True, "the UI-GCN variant of MLLMRec")])
def test_graph_models_are_refused_where_dgl_cannot_run_with_the_install_line(model, ui_gcn, name):
    needs = _needs(model, ui_gcn)
    assert needs.graph_on_device and needs.neighbour_sampling
    with pytest.raises(ConfigError) as err:
        check_device(needs, META)
    assert CUDA_DGL_INSTALL in str(err.value) and "--device cpu" in str(err.value)
    assert str(err.value).startswith(f"{name} propagates")


@pytest.mark.parametrize("model", ["bpr", "mllmrec"])
def test_torch_only_models_are_allowed_there(model):
    needs = _needs(model)
    assert not needs.graph_on_device and not needs.neighbour_sampling
    check_device(needs, META)
    check_device(needs, CPU)


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_cuda_without_gpu_is_refused_and_auto_falls_back_with_a_reason():
    with pytest.raises(ConfigError, match="cannot use device 'cuda'"):
        check_device(_needs("bpr"), torch.device("cuda"))
    device, why = resolve_device("auto", _needs("lightgcn"))
    assert device == CPU and "no CUDA GPU" in why


def _models():
    item_feat, user_feat = torch.randn(5, 7), torch.randn(6, 7)
    return {
        "bpr": BPRMF(6, 5, 4),
        "mllmrec": MLLMRec(item_feat, user_feat, 6, dim=4),
        "mllmrec-no-pref": MLLMRec(item_feat, None, 6, dim=4),
    }


@pytest.mark.parametrize("name", list(_models()))
def test_place_moves_every_parameter_and_buffer(name):
    model = _models()[name]
    assert placed_on(model) == {CPU}
    place(model, META)
    tensors = dict(model.named_parameters()) | dict(model.named_buffers())
    assert tensors and {n: t.device for n, t in tensors.items()} == {n: META for n in tensors}
    assert placed_on(model) == {META}


def test_the_walk_sees_graph_attributes_and_place_never_leaves_one_behind():
    """torch's Module.to moves parameters but not a DGL graph attribute: the walk reports the
    graph left on the CPU; place() moves graphs of submodules too, so on a device DGL cannot
    use it fails loudly instead of leaving a mixed-device model."""
    model = LightGCN(6, 5, _ui_graph(), dim=4)
    torch.nn.Sequential(model).to(META)
    assert placed_on(model) == {META, CPU}
    with pytest.raises(KeyError, match="meta"):  # DGL has no meta device
        place(torch.nn.Sequential(LightGCN(6, 5, _ui_graph(), dim=4)), META)
    assert placed_on(place(torch.nn.Sequential(LightGCN(6, 5, _ui_graph(), dim=4)), CPU)) == {CPU}


def test_place_tensor_and_graph():
    assert place(torch.ones(2), META).device == META
    g = place(_ui_graph(), CPU)
    assert g.device == CPU and g.edata["w"].device == CPU


def _train_data():
    from mllmrec.train.data import TrainData, normalised_item_graph

    rng = np.random.default_rng(1)
    splits = {s: sp.csr_matrix((rng.random((6, 5)) < 0.4).astype(np.float32)) for s in (0, 1, 2)}
    data = TrainData("mem", [f"u{k}" for k in range(6)], [f"i{k}" for k in range(5)], splits,
                     item_feat=torch.randn(5, 7), user_feat=torch.randn(6, 7))
    data.ii_graph = normalised_item_graph(rng.integers(0, 5, 12), rng.integers(0, 5, 12), rng.random(12), 5)
    return data


@pytest.mark.parametrize("model", ["bpr", "mllmrec"])
def test_build_model_places_every_tensor_the_model_uses(model):
    """The trainer's model, built for a device torch has and DGL lacks: every parameter and
    buffer (MLLMRec's A.E included) is there, and the model holds no graph."""
    from mllmrec.train.registry import build_model

    built = build_model(_train_data(), TrainSettings(model=model, dim=4), META)
    assert placed_on(built) == {META}
    assert not [n for m in built.modules() for n, v in vars(m).items() if "graph" in n and v is not None]


@pytest.mark.parametrize("model,ui_gcn", [("lightgcn", False), ("mllmrec", True)])
def test_build_model_refuses_graph_models_where_dgl_cannot_run(model, ui_gcn):
    from mllmrec.train.registry import build_model

    with pytest.raises(ConfigError, match="dgl==2.1.0 -f https://data.dgl.ai"):
        build_model(_train_data(), TrainSettings(model=model, ui_gcn=ui_gcn, dim=4), META)
