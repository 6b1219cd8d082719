"""The SCHP human parser network (AugmentCE2P) in pure PyTorch: loads the public SCHP checkpoints strictly.

Self-Correction for Human Parsing (Li et al., TPAMI 2020) trains CE2P-style networks: a ResNet-101 with a deep
stem and output stride 16, PSP context encoding, an edge branch, a parsing decoder and a fusion head. The
SG-WarpingGAN paper parses persons with LIP-trained parsers (20 labels); SCHP's LIP checkpoint is the PyTorch
one with the same label order (reference/preprocessing.md C.1, C.2, C.6, C.8).

SCHP's own code needs the compiled ``InPlaceABNSync`` extension, which runs even in eval mode. Its kernel
(``forward_cpu``/``forward_cuda`` in SCHP's ``modules/src/inplace_abn*``) computes
``(x - mean) * rsqrt(var + eps) * (|weight| + eps) + bias``: the scale is the absolute value of the stored weight
plus eps, so a trained weight may be negative. Then leaky ReLU (slope 0.01) or identity.
:class:`ActivatedBatchNorm2d` -- a ``BatchNorm2d`` holding weight/bias/running stats directly, at the same key
paths -- reproduces that in pure PyTorch (C.6). Module attribute names (``fushion`` included) follow the
checkpoint's keys; the forward returns ``[[parsing, fusion], [edge]]`` like SCHP.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

LEAKY_SLOPE = 0.01


class ActivatedBatchNorm2d(nn.BatchNorm2d):
    """InPlaceABN in eval: batch norm with scale ``|weight| + eps``, then optional leaky ReLU (same keys).

    The stored ``weight`` stays the checkpoint's (so ``state_dict`` round-trips); :meth:`scale_and_shift` gives
    the per-channel affine map the kernel applies, which is also what BN folding folds into the convolution.
    ``num_batches_tracked`` is kept out of the state dict (the SCHP checkpoints have none); a checkpoint that does
    carry it (saved from plain ``nn.BatchNorm2d``) still loads, the count is ignored. Eval only: training
    statistics are not InPlaceABN's concern here.
    """

    def __init__(self, num_features: int, *, activation: str = "leaky_relu"):
        super().__init__(num_features, eps=1e-5, momentum=0.1, affine=True)
        if activation not in ("leaky_relu", "none"):
            raise ValueError(f"activation must be 'leaky_relu' or 'none', got {activation!r}")
        self.activation = activation
        self.register_buffer("num_batches_tracked", torch.tensor(0, dtype=torch.long), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        weight = self.weight.abs() + self.eps  # InPlaceABN's gamma
        x = F.batch_norm(x, self.running_mean, self.running_var, weight, self.bias, False, 0.0, self.eps)
        return F.leaky_relu(x, LEAKY_SLOPE) if self.activation == "leaky_relu" else x

    def scale_and_shift(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Float64 ``(scale, shift)`` with ``bn(x) = x * scale + shift`` per channel (before the activation)."""
        scale = (self.weight.double().abs() + self.eps) / torch.sqrt(self.running_var.double() + self.eps)
        return scale, self.bias.double() - self.running_mean.double() * scale

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        state_dict.pop(prefix + "num_batches_tracked", None)
        nn.Module._load_from_state_dict(self, state_dict, prefix, *args, **kwargs)

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, activation={self.activation}"


def plain_bn(channels: int) -> ActivatedBatchNorm2d:
    """The backbone's batch norm (InPlaceABNSync with activation 'none')."""
    return ActivatedBatchNorm2d(channels, activation="none")


def conv_abn(in_channels: int, out_channels: int, kernel_size: int = 1) -> nn.Sequential:
    """``[conv (no bias), BN + leaky ReLU]``: keys ``.0.weight`` and ``.1.*`` as in SCHP's heads."""
    conv = nn.Conv2d(in_channels, out_channels, kernel_size, padding=kernel_size // 2, bias=False)
    return nn.Sequential(conv, ActivatedBatchNorm2d(out_channels))


def upsample(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    return F.interpolate(x, size=size, mode="bilinear", align_corners=True)


class Bottleneck(nn.Module):
    """ResNet bottleneck: 1x1 -> 3x3 (stride, dilation) -> 1x1 (x4 channels), plus the (projected) input."""

    expansion = 4

    def __init__(self, *, in_channels: int, planes: int, stride: int = 1, dilation: int = 1):
        super().__init__()
        out_channels = planes * self.expansion
        self.conv1 = nn.Conv2d(in_channels, planes, 1, bias=False)
        self.bn1 = plain_bn(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=stride, padding=dilation, dilation=dilation, bias=False)
        self.bn2 = plain_bn(planes)
        self.conv3 = nn.Conv2d(planes, out_channels, 1, bias=False)
        self.bn3 = plain_bn(out_channels)
        self.downsample = None
        if stride != 1 or in_channels != out_channels:
            self.downsample = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False), plain_bn(out_channels)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = F.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        residual = x if self.downsample is None else self.downsample(x)
        return F.relu(out + residual)


def residual_stage(*, in_channels: int, planes: int, blocks: int, stride: int = 1, dilation: int = 1) -> nn.Sequential:
    wide = planes * Bottleneck.expansion
    layers = [Bottleneck(in_channels=in_channels, planes=planes, stride=stride, dilation=dilation)]
    layers += [Bottleneck(in_channels=wide, planes=planes, dilation=dilation) for _ in range(1, blocks)]
    return nn.Sequential(*layers)


class PyramidPooling(nn.Module):
    """PSP context encoding (Zhao et al. 2017): pooled priors at 1, 2, 3, 6 bins, concatenated with the input."""

    def __init__(self, *, in_channels: int = 2048, out_channels: int = 512, bins: tuple[int, ...] = (1, 2, 3, 6)):
        super().__init__()
        self.stages = nn.ModuleList(
            nn.Sequential(nn.AdaptiveAvgPool2d(b), *conv_abn(in_channels, out_channels)) for b in bins
        )
        self.bottleneck = conv_abn(in_channels + len(bins) * out_channels, out_channels, kernel_size=3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        size = x.shape[-2:]
        priors = [upsample(stage(x), size) for stage in self.stages]
        return self.bottleneck(torch.cat([*priors, x], dim=1))


class EdgeBranch(nn.Module):
    """Edge learning branch: per-level 1x1 features, one shared 3x3 edge classifier, a 1x1 fusion of the three."""

    def __init__(self, *, in_channels: tuple[int, int, int] = (256, 512, 1024), mid: int = 256, out: int = 2):
        super().__init__()
        self.conv1 = conv_abn(in_channels[0], mid)
        self.conv2 = conv_abn(in_channels[1], mid)
        self.conv3 = conv_abn(in_channels[2], mid)
        self.conv4 = nn.Conv2d(mid, out, 3, padding=1, bias=True)
        self.conv5 = nn.Conv2d(out * 3, out, 1, bias=True)

    def forward(self, x2: torch.Tensor, x3: torch.Tensor, x4: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        size = x2.shape[-2:]
        features = [self.conv1(x2), self.conv2(x3), self.conv3(x4)]
        edges = [self.conv4(f) for f in features]
        features = [features[0]] + [upsample(f, size) for f in features[1:]]
        edges = [edges[0]] + [upsample(e, size) for e in edges[1:]]
        return self.conv5(torch.cat(edges, dim=1)), torch.cat(features, dim=1)


class ParsingDecoder(nn.Module):
    """Parsing decoder: context features upsampled to the stride-4 level and joined with 48 low-level channels."""

    def __init__(self, *, num_classes: int):
        super().__init__()
        self.conv1 = conv_abn(512, 256)
        self.conv2 = conv_abn(256, 48)
        self.conv3 = nn.Sequential(*conv_abn(304, 256), *conv_abn(256, 256))
        self.conv4 = nn.Conv2d(256, num_classes, 1, bias=True)

    def forward(self, context: torch.Tensor, low: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        top = upsample(self.conv1(context), low.shape[-2:])
        x = self.conv3(torch.cat([top, self.conv2(low)], dim=1))
        return self.conv4(x), x


class SCHPNet(nn.Module):
    """AugmentCE2P: ResNet-101 (deep stem, OS 16) + PSP + edge branch + decoder + fusion head.

    Input: ``(N, 3, H, W)`` BGR normalised with SCHP's mean/std. Output ``[[parsing, fusion], [edge]]`` at
    stride 4 (``ceil`` of H/4, e.g. 119 for 473); inference uses the fusion logits ``(N, num_classes, h, w)``.
    """

    def __init__(self, *, num_classes: int = 20, layers: tuple[int, int, int, int] = (3, 4, 23, 3)):
        super().__init__()
        self.num_classes = num_classes
        self.conv1 = nn.Conv2d(3, 64, 3, stride=2, padding=1, bias=False)
        self.bn1 = plain_bn(64)
        self.conv2 = nn.Conv2d(64, 64, 3, padding=1, bias=False)
        self.bn2 = plain_bn(64)
        self.conv3 = nn.Conv2d(64, 128, 3, padding=1, bias=False)
        self.bn3 = plain_bn(128)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = residual_stage(in_channels=128, planes=64, blocks=layers[0])
        self.layer2 = residual_stage(in_channels=256, planes=128, blocks=layers[1], stride=2)
        self.layer3 = residual_stage(in_channels=512, planes=256, blocks=layers[2], stride=2)
        self.layer4 = residual_stage(in_channels=1024, planes=512, blocks=layers[3], dilation=2)
        self.context_encoding = PyramidPooling(in_channels=2048, out_channels=512)
        self.edge = EdgeBranch()
        self.decoder = ParsingDecoder(num_classes=num_classes)
        self.fushion = nn.Sequential(  # sic: the checkpoint's spelling
            nn.Conv2d(1024, 256, 1, bias=False),
            ActivatedBatchNorm2d(256),
            nn.Dropout2d(0.1),
            nn.Conv2d(256, num_classes, 1, bias=True),
        )

    def forward(self, x: torch.Tensor) -> list[list[torch.Tensor]]:
        if x.ndim != 4 or x.shape[1] != 3:
            raise ValueError(f"SCHPNet expects (N, 3, H, W) images, got {tuple(x.shape)}")
        x = F.relu(self.bn1(self.conv1(x)))
        x = F.relu(self.bn2(self.conv2(x)))
        x = F.relu(self.bn3(self.conv3(x)))
        x2 = self.layer1(self.maxpool(x))
        x3 = self.layer2(x2)
        x4 = self.layer3(x3)
        x5 = self.layer4(x4)
        parsing, parsing_features = self.decoder(self.context_encoding(x5), x2)
        edge, edge_features = self.edge(x2, x3, x4)
        fusion = self.fushion(torch.cat([parsing_features, edge_features], dim=1))
        return [[parsing, fusion], [edge]]
