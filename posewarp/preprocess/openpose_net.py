"""The CMU OpenPose COCO body network (Cao et al., CVPR 2017) as a pure ``nn.Module``.

Implements reference/preprocessing.md A.2-A.3: a VGG-19 front (10 convs + 2 CPM convs, stride 8,
128 channels), then six stages, each with a PAF branch (L1, 38 channels = 19 limbs x (x, y)) and a
heatmap branch (L2, 19 channels = 18 keypoints + background). Stages 2-6 read
``cat([paf, heatmap, features])`` (185 channels).

Module names equal those of the widely used PyTorch port (Hzzone/pytorch-openpose ``bodypose_model``),
so ``state_dict()`` keys are ``model0.conv1_1.weight`` ... ``model6_2.Mconv7_stage6_L2.bias``.
:func:`load_body_pose_weights` also accepts the public ``body_pose_model.pth`` (flat Caffe layer
names, ``conv1_1.weight``) and tensorboy's numeric ``nn.Sequential`` layout (``model0.0.weight``),
always strictly and with ``torch.load(weights_only=True)``.

Reference quirk kept on purpose: the port applies a ReLU to the final heatmaps (``Mconv7_stage6_L2``;
the Caffe model has none there). The ReLU is part of :meth:`BodyPoseNet.forward` so outputs match.
"""

from __future__ import annotations

import os
from collections import OrderedDict

import torch
from torch import nn

from posewarp.errors import PosewarpError
from posewarp.tensor_file import read_tensor_file

NUM_PAF = 38
NUM_HEATMAPS = 19
STRIDE = 8

# (name, in, out, kernel) for convs (stride 1, padding k // 2); ("pool", name) for 2x2 max pools.
_VGG = (
    ("conv1_1", 3, 64, 3), ("conv1_2", 64, 64, 3), ("pool", "pool1_stage1"),
    ("conv2_1", 64, 128, 3), ("conv2_2", 128, 128, 3), ("pool", "pool2_stage1"),
    ("conv3_1", 128, 256, 3), ("conv3_2", 256, 256, 3), ("conv3_3", 256, 256, 3), ("conv3_4", 256, 256, 3),
    ("pool", "pool3_stage1"),
    ("conv4_1", 256, 512, 3), ("conv4_2", 512, 512, 3), ("conv4_3_CPM", 512, 256, 3), ("conv4_4_CPM", 256, 128, 3),
)  # fmt: skip


def _stage1(branch: int, out: int) -> tuple:
    b = f"L{branch}"
    return (
        (f"conv5_1_CPM_{b}", 128, 128, 3), (f"conv5_2_CPM_{b}", 128, 128, 3), (f"conv5_3_CPM_{b}", 128, 128, 3),
        (f"conv5_4_CPM_{b}", 128, 512, 1), (f"conv5_5_CPM_{b}", 512, out, 1),
    )  # fmt: skip


def _stage(t: int, branch: int, out: int) -> tuple:
    s = f"stage{t}_L{branch}"
    inp = NUM_PAF + NUM_HEATMAPS + 128
    convs = [(f"Mconv1_{s}", inp, 128, 7)] + [(f"Mconv{i}_{s}", 128, 128, 7) for i in range(2, 6)]
    return (*convs, (f"Mconv6_{s}", 128, 128, 1), (f"Mconv7_{s}", 128, out, 1))


def architecture() -> dict[str, tuple]:
    """Block name -> layer spec, in the port's order (model0, model1_1..model6_1, model1_2..model6_2)."""
    blocks = {"model0": _VGG, "model1_1": _stage1(1, NUM_PAF)}
    blocks.update({f"model{t}_1": _stage(t, 1, NUM_PAF) for t in range(2, 7)})
    blocks["model1_2"] = _stage1(2, NUM_HEATMAPS)
    blocks.update({f"model{t}_2": _stage(t, 2, NUM_HEATMAPS) for t in range(2, 7)})
    return blocks


def _block(spec: tuple, last_linear: bool) -> nn.Sequential:
    layers: OrderedDict[str, nn.Module] = OrderedDict()
    convs = [s for s in spec if s[0] != "pool"]
    for s in spec:
        if s[0] == "pool":
            layers[s[1]] = nn.MaxPool2d(kernel_size=2, stride=2, padding=0)
            continue
        name, cin, cout, k = s
        layers[name] = nn.Conv2d(cin, cout, kernel_size=k, stride=1, padding=k // 2)
        if not (last_linear and s is convs[-1]):
            layers[f"relu_{name}"] = nn.ReLU(inplace=True)
    return nn.Sequential(layers)


class BodyPoseNet(nn.Module):
    """OpenPose COCO body model: ``forward(x) -> (paf (N,38,H/8,W/8), heatmaps (N,19,H/8,W/8))``.

    ``x`` is ``(N, 3, H, W)`` float, **BGR**, scaled as ``pixel / 256 - 0.5``, H and W multiples of 8.
    ``final_relu`` reproduces the port's ReLU on the last heatmaps (A.2 quirk); keep it on to match.
    """

    def __init__(self, *, final_relu: bool = True):
        super().__init__()
        self.final_relu = final_relu
        for name, spec in architecture().items():
            self.add_module(name, _block(spec, last_linear=name != "model0"))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if x.ndim != 4 or x.shape[1] != 3:
            raise ValueError(f"BodyPoseNet expects (N, 3, H, W) input, got {tuple(x.shape)}")
        features = self.model0(x)
        paf, heat = self.model1_1(features), self.model1_2(features)
        for t in range(2, 7):
            joint = torch.cat([paf, heat, features], dim=1)
            paf = getattr(self, f"model{t}_1")(joint)
            heat = getattr(self, f"model{t}_2")(joint)
        if self.final_relu:
            heat = torch.relu(heat)
        return paf, heat


def key_aliases() -> dict[str, str]:
    """Every accepted key -> module key: flat Caffe names, Hzzone module keys, tensorboy numeric keys.

    tensorboy builds the same layers as a plain ``nn.Sequential``, so a layer's numeric key is its
    position in the block (ReLUs and pools included); see reference/tensorboy_to_flat_keymap.tsv.
    """
    aliases: dict[str, str] = {}
    for block, spec in architecture().items():
        position = 0
        convs = [s for s in spec if s[0] != "pool"]
        for s in spec:
            if s[0] == "pool":
                position += 1
                continue
            for param in ("weight", "bias"):
                module_key = f"{block}.{s[0]}.{param}"
                aliases[module_key] = module_key
                aliases[f"{s[0]}.{param}"] = module_key
                aliases[f"{block}.{position}.{param}"] = module_key
            position += 1 if (block != "model0" and s is convs[-1]) else 2
    return aliases


def _few(keys: list[str], n: int = 4) -> str:
    shown = ", ".join(keys[:n])
    return shown + (f", ... ({len(keys)} in all)" if len(keys) > n else "")


def remap_state_dict(state: dict, path: str | os.PathLike | None = None) -> dict[str, torch.Tensor]:
    """Turn a checkpoint dict in any accepted layout into module keys, checking names and shapes strictly."""
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise PosewarpError("not an OpenPose body model (expected a dict of tensors)", path)
    if state and all(k.startswith("module.") for k in state):
        state = {k[len("module.") :]: v for k, v in state.items()}
    aliases = key_aliases()
    expected = parameter_shapes()
    out: dict[str, torch.Tensor] = {}
    unexpected, misshaped, seen = [], [], set()
    for key, value in state.items():
        target = aliases.get(key)
        if target is None or target in seen:
            unexpected.append(key)
            continue
        seen.add(target)
        if tuple(value.shape) != expected[target]:
            misshaped.append(f"{key} {tuple(value.shape)} (expected {expected[target]})")
        else:
            out[target] = value
    missing = [k for k in expected if k not in seen]
    if missing and state:  # name missing keys in the file's own layout (flat, module or numeric)
        numeric = {k: v for k, v in aliases.items() if k.split(".")[1].isdigit()}
        flat = {k: v for k, v in aliases.items() if k.count(".") == 1}
        for layout in (numeric, flat):
            if sum(k in layout for k in state) > len(state) // 2:
                inverse = {module: k for k, module in layout.items()}
                missing = [inverse[k] for k in missing]
                break
    problems = []
    if missing:
        problems.append(f"missing {_few(missing)}")
    if misshaped:
        problems.append(f"wrong shape {_few(misshaped, 3)}")
    if unexpected:
        problems.append(f"unexpected {_few(unexpected)}")
    if problems:
        raise PosewarpError("not a matching OpenPose COCO body model: " + "; ".join(problems), path)
    return out


def parameter_shapes() -> dict[str, tuple[int, ...]]:
    """Module key -> parameter shape, in state_dict order, without allocating the 52M weights."""
    shapes = {}
    for block, spec in architecture().items():
        for s in spec:
            if s[0] != "pool":
                name, cin, cout, k = s
                shapes[f"{block}.{name}.weight"] = (cout, cin, k, k)
                shapes[f"{block}.{name}.bias"] = (cout,)
    return shapes


def flat_state_dict(net: BodyPoseNet) -> dict[str, torch.Tensor]:
    """The network's weights keyed like the public ``body_pose_model.pth`` (flat Caffe layer names)."""
    return {k.split(".", 1)[1]: v for k, v in net.state_dict().items()}


def load_body_pose_weights(path: str | os.PathLike, *, map_location: str | torch.device = "cpu") -> BodyPoseNet:
    """Build :class:`BodyPoseNet` and load a checkpoint strictly (flat, module or tensorboy keys)."""
    state = read_tensor_file(path, map_location)
    weights = remap_state_dict(state, path)
    with torch.device("meta"):
        net = BodyPoseNet()
    net.load_state_dict(weights, strict=True, assign=True)
    return net.float().eval()
