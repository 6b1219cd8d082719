"""VGG feature taps: the perceptual loss (VGG19, relu1_1..relu5_1) and the matcher trunk (VGG16 to pool4).

The Stage II perceptual loss compares VGG19 activations at relu1_1, relu2_1, relu3_1, relu4_1
and relu5_1 (reference/paper.md 1.2, weights 1/32 ... 1 in ``posewarp.losses.perceptual``); the
geometric matcher's feature extractor is VGG16 cut at pool4 (paper section 3.2, CNNGeometric).
The architectures come from torchvision (``torchvision.models.vgg``, features only); the
ImageNet weights are the torchvision files (``vgg19-dcbb9e9d.pth``, ``vgg16-397923af.pth``)
read from a path, never downloaded here: ``posewarp weights download vgg19`` fetches them.
Inputs are images in [-1, 1]; the ImageNet normalisation is applied inside (constant buffers).
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
from torch import nn

from posewarp.errors import PosewarpError, WeightsMissingError
from posewarp.tensor_file import read_tensor_file

ARCHS = ("vgg16", "vgg19")


def vgg_features(arch: str = "vgg19", upto: int | None = None) -> nn.Sequential:
    """The ``features`` part of torchvision's VGG16/VGG19 (same module indices and key names), randomly
    initialised as torchvision does, without building the 100 M-parameter classifier; ``upto`` keeps
    only the first modules."""
    from torchvision.models.vgg import cfgs, make_layers

    if arch not in ARCHS:
        raise ValueError(f"arch must be one of {ARCHS}, got {arch!r}")
    features = make_layers(cfgs["D" if arch == "vgg16" else "E"], batch_norm=False)[:upto]
    for m in features:
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            nn.init.zeros_(m.bias)
    return features


def vgg_layer_names(arch: str = "vgg19") -> tuple[str, ...]:
    """Module names of torchvision's VGG ``features`` by index, read from the configuration (nothing built)."""
    from torchvision.models.vgg import cfgs

    if arch not in ARCHS:
        raise ValueError(f"arch must be one of {ARCHS}, got {arch!r}")
    names, block, idx = [], 1, 0
    for v in cfgs["D" if arch == "vgg16" else "E"]:
        if v == "M":
            names.append(f"pool{block}")
            block, idx = block + 1, 0
        else:
            idx += 1
            names += [f"conv{block}_{idx}", f"relu{block}_{idx}"]
    return tuple(names)


def load_features(features: nn.Sequential, weights: str | os.PathLike, *, arch: str) -> None:
    """Load the ``features.*`` tensors of a torchvision VGG file into a (prefix of) ``features``."""
    path = Path(weights)
    if not path.is_file():
        raise WeightsMissingError(f"{arch.upper()} weights not found; run `posewarp weights download {arch}`", path)
    state = read_tensor_file(path)
    if not isinstance(state, dict):
        raise PosewarpError(f"not a torchvision {arch.upper()} state dict", path)
    want = features.state_dict()
    sub = {}
    for key, ref in want.items():
        full = f"features.{key}"
        if full not in state:
            raise PosewarpError(f"not a torchvision {arch.upper()} file: {full} is missing", path)
        if tuple(state[full].shape) != tuple(ref.shape):
            raise PosewarpError(f"{full} has shape {tuple(state[full].shape)}, expected {tuple(ref.shape)}", path)
        sub[key] = state[full]
    features.load_state_dict(sub, strict=True)


class VGGFeatures(nn.Module):
    """Frozen VGG taps: ``forward(x in [-1, 1]) -> list`` of the activations named in ``layers``.

    ``weights``: path to the torchvision file. Without it, ``random_init=True`` keeps seeded
    random weights (the ``tiny`` preset, tests); otherwise a WeightsMissingError names the
    download command. Parameters never require grad.
    """

    def __init__(self, *, layers=("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"),
                 weights: str | os.PathLike | None = None, random_init: bool = False, arch: str = "vgg19"):
        super().__init__()
        if weights is None and not random_init:
            raise WeightsMissingError(
                f"{arch.upper()} ImageNet weights are needed: run `posewarp weights download {arch}` "
                f"(or use a preset with `vgg: random`)")
        names = vgg_layer_names(arch)
        layers = tuple(layers)
        unknown = [name for name in layers if name not in names]
        if not layers or unknown:
            raise ValueError(f"unknown {arch} layers {unknown}; choose from {list(names)}")
        self.layers, self.arch = layers, arch
        self.indices = [names.index(name) for name in layers]
        self.features = vgg_features(arch, max(self.indices) + 1)
        if weights is not None:
            load_features(self.features, weights, arch=arch)
        self.pretrained = weights is not None
        for m in self.features:
            if isinstance(m, nn.ReLU):
                m.inplace = False  # the tapped activations must not be overwritten
        self.requires_grad_(False)
        self.register_buffer("mean", torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1), persistent=False)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        if x.dim() != 4 or x.shape[1] != 3:
            raise ValueError(f"VGG input must be (N, 3, H, W) in [-1, 1], got {tuple(x.shape)}")
        x = ((x + 1) / 2 - self.mean.to(x.dtype)) / self.std.to(x.dtype)
        wanted = {i: k for k, i in enumerate(self.indices)}
        taps = [None] * len(self.indices)
        for i, m in enumerate(self.features):
            x = m(x)
            if i in wanted:
                taps[wanted[i]] = x
        return taps
