"""Building blocks shared by both generators: pix2pixHD-style ResNet encoder pieces.

The paper adapts the Pix2pix/pix2pixHD ResNet generator for both stages (paper section 3.1,
"the generator of the pose-guided parser contains 9 residual blocks"; reference/paper.md 1.2):
a 7x7 convolution, stride-2 3x3 downsampling convolutions, residual blocks, stride-2 transposed
convolutions and a final 7x7 convolution, with InstanceNorm (no affine parameters) and
reflection padding.
"""

from __future__ import annotations

import torch
from torch import nn


def norm(channels: int) -> nn.Module:
    """The normalisation used everywhere in the generators (pix2pixHD: InstanceNorm, no affine)."""
    return nn.InstanceNorm2d(channels, affine=False)


def stem(in_channels: int, out_channels: int) -> nn.Sequential:
    """Reflection-padded 7x7 convolution, norm, ReLU."""
    return nn.Sequential(nn.ReflectionPad2d(3), nn.Conv2d(in_channels, out_channels, 7), norm(out_channels), nn.ReLU(True))


def downsample(in_channels: int, out_channels: int) -> nn.Sequential:
    """Stride-2 3x3 convolution, norm, ReLU (halves H and W)."""
    return nn.Sequential(nn.Conv2d(in_channels, out_channels, 3, stride=2, padding=1), norm(out_channels), nn.ReLU(True))


UPSAMPLING = ("transposed", "resize")


def upsample(in_channels: int, out_channels: int, mode: str = "transposed") -> nn.Sequential:
    """Double H and W: a stride-2 3x3 transposed convolution (pix2pixHD, the paper), or ``mode="resize"``:
    nearest-neighbour resizing then a 3x3 convolution (no checkerboard artefacts); then norm, ReLU."""
    if mode == "transposed":
        conv = [nn.ConvTranspose2d(in_channels, out_channels, 3, stride=2, padding=1, output_padding=1)]
    elif mode == "resize":
        conv = [nn.Upsample(scale_factor=2, mode="nearest"), nn.ReflectionPad2d(1), nn.Conv2d(in_channels, out_channels, 3)]
    else:
        raise ValueError(f"upsample mode must be one of {UPSAMPLING}, got {mode!r}")
    return nn.Sequential(*conv, norm(out_channels), nn.ReLU(True))


def conv_block(in_channels: int, out_channels: int) -> nn.Sequential:
    """Reflection-padded 3x3 convolution, norm, ReLU (fuses a decoder level with its skip features)."""
    return nn.Sequential(nn.ReflectionPad2d(1), nn.Conv2d(in_channels, out_channels, 3), norm(out_channels), nn.ReLU(True))


def head(in_channels: int, out_channels: int) -> nn.Sequential:
    """Reflection-padded 7x7 output convolution (no norm, no activation)."""
    return nn.Sequential(nn.ReflectionPad2d(3), nn.Conv2d(in_channels, out_channels, 7))


class ResnetBlock(nn.Module):
    """x + conv-norm-relu-conv-norm(x), 3x3 convolutions with reflection padding."""

    def __init__(self, *, channels: int):
        super().__init__()
        self.body = nn.Sequential(
            nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3), norm(channels), nn.ReLU(True),
            nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3), norm(channels),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class Encoder(nn.Module):
    """Stem then ``n_downsample`` stride-2 stages doubling the width (capped at ``max_channels``).

    ``forward`` returns the feature map after every stage (the stem output first), so a warping
    block can tap a higher-resolution level.
    """

    def __init__(self, *, in_channels: int, ngf: int = 64, n_downsample: int = 3, max_channels: int = 1024):
        super().__init__()
        self.channels = [ngf]
        stages = [stem(in_channels, ngf)]
        for _ in range(n_downsample):
            c_in = self.channels[-1]
            c_out = min(c_in * 2, max_channels)
            stages.append(downsample(c_in, c_out))
            self.channels.append(c_out)
        self.stages = nn.ModuleList(stages)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        feats = []
        for stage in self.stages:
            x = stage(x)
            feats.append(x)
        return feats


def check_input(name: str, x: torch.Tensor, channels: int, multiple: int) -> None:
    """Assert an NCHW tensor with the expected channels and a size the generator can reproduce."""
    if x.dim() != 4 or x.shape[1] != channels:
        raise ValueError(f"{name} must be (N, {channels}, H, W), got {tuple(x.shape)}")
    if x.shape[2] % multiple or x.shape[3] % multiple:
        raise ValueError(f"{name}: height and width must be multiples of {multiple}, got {tuple(x.shape[2:])}")
