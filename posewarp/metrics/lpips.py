"""LPIPS (Zhang et al. 2018), AlexNet trunk, linear layers v0.1 — what GFLA and later papers report
(``lpips.LPIPS(net='alex', version='0.1')``), reference/ecosystem.md section 1.

Both images in [-1, 1] are shifted and scaled per channel (the v0.1 scaling layer), passed through
torchvision's AlexNet ``features``; the activations after the five ReLUs are unit-normalised along
channels, their squared difference is weighted by a 1x1 convolution per layer (``lin0``..``lin4``),
averaged over space and summed over layers.

Two files: torchvision's ``alexnet-owt-7be5be79.pth`` (only ``features.*`` is used) and the
PerceptualSimilarity ``weights/v0.1/alex.pth`` (keys ``lin{i}.model.1.weight``, shape ``(1, C, 1, 1)``).
"""

from __future__ import annotations

import os

import torch
import torch.nn as nn

from posewarp.errors import PosewarpError
from posewarp.tensor_file import read_tensor_file

CHANNELS = (64, 192, 384, 256, 256)
TAPS = (1, 4, 7, 9, 11)  # indices in AlexNet features after which a feature map is taken (relu1..relu5)
EPS = 1e-10


def alexnet_features() -> nn.Sequential:
    """torchvision AlexNet's ``features`` up to the fifth ReLU, same indices (its keys ``features.N.*``)."""
    return nn.Sequential(
        nn.Conv2d(3, 64, kernel_size=11, stride=4, padding=2), nn.ReLU(inplace=True),
        nn.MaxPool2d(kernel_size=3, stride=2),
        nn.Conv2d(64, 192, kernel_size=5, padding=2), nn.ReLU(inplace=True),
        nn.MaxPool2d(kernel_size=3, stride=2),
        nn.Conv2d(192, 384, kernel_size=3, padding=1), nn.ReLU(inplace=True),
        nn.Conv2d(384, 256, kernel_size=3, padding=1), nn.ReLU(inplace=True),
        nn.Conv2d(256, 256, kernel_size=3, padding=1), nn.ReLU(inplace=True),
    )  # fmt: skip


class LinearLayer(nn.Module):
    """A 1x1 convolution to one channel, stored as ``model.1`` after a (eval-time no-op) dropout."""

    def __init__(self, channels: int):
        super().__init__()
        self.model = nn.Sequential(nn.Dropout(), nn.Conv2d(channels, 1, kernel_size=1, bias=False))


class LPIPS(nn.Module):
    """``forward(x, y)`` of two ``(N, 3, H, W)`` images in [-1, 1] -> ``(N,)`` distances."""

    def __init__(self):
        super().__init__()
        self.register_buffer("shift", torch.tensor([-0.030, -0.088, -0.188]).view(1, 3, 1, 1))
        self.register_buffer("scale", torch.tensor([0.458, 0.448, 0.450]).view(1, 3, 1, 1))
        self.features = alexnet_features()
        for i, c in enumerate(CHANNELS):
            self.add_module(f"lin{i}", LinearLayer(c))

    def taps(self, x: torch.Tensor) -> list[torch.Tensor]:
        out = []
        x = (x - self.shift) / self.scale
        for i, layer in enumerate(self.features):
            x = layer(x)
            if i in TAPS:
                out.append(x)
        return out

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        assert x.shape == y.shape and x.ndim == 4 and x.shape[1] == 3, f"got {tuple(x.shape)}, {tuple(y.shape)}"
        total = x.new_zeros(x.shape[0])
        for i, (fx, fy) in enumerate(zip(self.taps(x), self.taps(y))):
            nx = fx / (fx.pow(2).sum(1, keepdim=True).sqrt() + EPS)
            ny = fy / (fy.pow(2).sum(1, keepdim=True).sqrt() + EPS)
            lin = getattr(self, f"lin{i}").model
            total = total + lin((nx - ny) ** 2).mean(dim=(1, 2, 3))
        return total


def _load(path: str | os.PathLike, what: str) -> dict:
    state = read_tensor_file(path)
    if not isinstance(state, dict):
        raise PosewarpError(f"expected a state dict ({what})", path)
    return state


def load_lpips(alexnet_path: str | os.PathLike, lin_path: str | os.PathLike) -> LPIPS:
    """Build ``LPIPS`` from torchvision's AlexNet file and the v0.1 ``alex.pth`` linear layers."""
    model = LPIPS()
    state = {}
    trunk = _load(alexnet_path, "torchvision AlexNet")
    for key, value in model.features.state_dict().items():
        if f"features.{key}" not in trunk or tuple(trunk[f"features.{key}"].shape) != tuple(value.shape):
            raise PosewarpError(f"not torchvision's AlexNet: no matching 'features.{key}'", alexnet_path)
        state[f"features.{key}"] = trunk[f"features.{key}"]
    lins = _load(lin_path, "LPIPS v0.1 linear layers")
    for i, c in enumerate(CHANNELS):
        key = f"lin{i}.model.1.weight"
        if key not in lins or tuple(lins[key].shape) != (1, c, 1, 1):
            raise PosewarpError(f"not LPIPS alex v0.1 linear layers: no {key} of shape (1, {c}, 1, 1)", lin_path)
        state[key] = lins[key]
    model.load_state_dict(state, strict=False)
    return model.eval()
