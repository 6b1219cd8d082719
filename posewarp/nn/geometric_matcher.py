"""The geometric matcher (paper section 3.2; reference/paper.md 1.1-1.2): CNNGeometric on parsing maps.

A siamese feature extractor (VGG16 cut at pool4 on the colour-coded parsing, ImageNet weights
from the torchvision file; or a small CNN on the 20 one-hot channels for the ``tiny`` preset),
L2-normalised features, a correlation layer (every source location against every target
location), and a regression head (two convolutions and a linear layer). It first estimates an
affine transform between the source parsing and the target parsing, then TPS parameters (3x3
control grid) between the affine-warped source parsing and the target parsing ("we first
estimate the affine transformation ... we then estimate TPS transformation parameters between
warping results from the affine transformation and target parsing").

Both parsing maps are resized to ``feature_size * stride`` inside (normalised coordinates do
not change with resolution), and ``grid(out, size)`` returns the composed affine+TPS grid that
samples the source at any resolution. The regression heads start at the identity transform.
They use BatchNorm, as CNNGeometric does (it trains several times faster here than GroupNorm): a
frozen matcher must be put in ``eval()`` mode, and training batches need at least 2 pairs.
Parameter counts: ``small`` (width 32, 16x16 correlation) 4.7 M; ``vgg16`` (15x15) 10.9 M, of
which 7.6 M in the frozen VGG16 trunk; the ``tiny`` sizes (width 16, 8x8) 0.57 M.
"""

from __future__ import annotations

import os

import torch
import torch.nn.functional as F
from torch import nn

from posewarp.nn import grids
from posewarp.nn.vgg import VGGFeatures

FEATURES = ("small", "vgg16")


def l2_normalize(x: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """Normalise every location's feature vector (dim 1) to unit length."""
    return x / torch.sqrt((x * x).sum(dim=1, keepdim=True) + eps)


def correlation(src: torch.Tensor, tgt: torch.Tensor) -> torch.Tensor:
    """``(N, C, h, w)`` x 2 -> ``(N, h*w, h, w)``: channel k (a source location, row-major) at each target location."""
    n, c, h, w = src.shape
    a = src.reshape(n, c, h * w)  # (N, C, S)
    b = tgt.reshape(n, c, h * w)  # (N, C, T)
    corr = torch.bmm(a.transpose(1, 2), b)  # (N, S, T)
    return corr.reshape(n, h * w, h, w)


class SmallFeatures(nn.Module):
    """A light CNN on the one-hot parsing: ``n_downsample`` stride-2 3x3 convs doubling the width, then a 3x3 conv."""

    def __init__(self, *, in_channels: int = 20, width: int = 32, n_downsample: int = 3):
        super().__init__()
        layers, c = [], in_channels
        for i in range(n_downsample):
            c_out = min(width * 2 ** i, 256)
            layers += [nn.Conv2d(c, c_out, 3, stride=2, padding=1), nn.ReLU(True)]
            c = c_out
        layers += [nn.Conv2d(c, c, 3, padding=1)]
        self.net = nn.Sequential(*layers)
        self.stride = 2 ** n_downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class VGG16Features(nn.Module):
    """VGG16 to pool4 on the parsing drawn in the LIP palette (what the authors' matcher saw)."""

    stride = 16

    def __init__(self, *, in_channels: int = 20, weights: str | os.PathLike | None = None, random_init: bool = False,
                 train_features: bool | None = None):
        super().__init__()
        from posewarp.formats.parsing import PALETTE

        if in_channels != len(PALETTE):
            raise ValueError(f"the vgg16 matcher colour-codes {len(PALETTE)} parsing channels, got in_channels={in_channels}")
        self.vgg = VGGFeatures(layers=("pool4",), weights=weights, random_init=random_init, arch="vgg16")
        self.vgg.requires_grad_(not self.vgg.pretrained if train_features is None else train_features)
        palette = torch.tensor(PALETTE, dtype=torch.float32) / 127.5 - 1  # (20, 3) in [-1, 1]
        self.register_buffer("palette", palette, persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        rgb = torch.einsum("nchw,ck->nkhw", x, self.palette.to(x.dtype))
        return self.vgg(rgb)[0]


class Regression(nn.Module):
    """Two conv-norm-ReLU layers on the correlation volume and a linear layer -> ``identity + delta``."""

    def __init__(self, *, feature_size: tuple[int, int], identity: torch.Tensor):
        super().__init__()
        h, w = feature_size
        big = min(h, w) >= 13
        k1, k2 = (7, 5) if big else (3, 3)
        if min(h, w) < k1 + k2 - 1:
            raise ValueError(f"feature_size {feature_size} is too small for the regression head (min 5)")
        self.convs = nn.Sequential(
            nn.Conv2d(h * w, 128, k1), nn.BatchNorm2d(128), nn.ReLU(True),
            nn.Conv2d(128, 64, k2), nn.BatchNorm2d(64), nn.ReLU(True),
        )
        out_hw = (h - k1 - k2 + 2) * (w - k1 - k2 + 2)
        self.linear = nn.Linear(64 * out_hw, identity.numel())
        nn.init.zeros_(self.linear.weight)
        nn.init.zeros_(self.linear.bias)
        self.register_buffer("identity", identity.reshape(1, -1).clone(), persistent=False)

    def forward(self, corr: torch.Tensor) -> torch.Tensor:
        return self.identity + self.linear(self.convs(corr).flatten(1))


class GeometricMatcher(nn.Module):
    """``forward(src_parsing, tgt_parsing) -> dict(theta_affine (N, 6), theta_tps (N, 2K), grid)``.

    ``out["grid"](size)`` (or ``matcher.grid(out, size)``) is the composed affine+TPS sampling
    grid ``(N, H, W, 2)``: ``grids.warp(source, grid)`` moves the source onto the target.
    ``features="vgg16"`` needs ``vgg_weights`` (the torchvision vgg16 file) unless
    ``random_init=True`` (tests; or when a checkpoint's state dict is loaded afterwards).
    ``tps=False`` skips the TPS stage (theta_tps is then the identity).
    """

    def __init__(self, *, features: str = "small", in_channels: int = 20, feature_size: tuple[int, int] | None = None,
                 vgg_weights: str | os.PathLike | None = None, random_init: bool = False, width: int = 32,
                 grid_size: int = 3, tps: bool = True):
        super().__init__()
        if features not in FEATURES:
            raise ValueError(f"features must be one of {FEATURES}, got {features!r}")
        if features == "vgg16":
            self.features = VGG16Features(in_channels=in_channels, weights=vgg_weights, random_init=random_init)
        else:
            self.features = SmallFeatures(in_channels=in_channels, width=width)
        self.feature_size = tuple(feature_size or ((15, 15) if features == "vgg16" else (16, 16)))
        self.input_size = tuple(s * self.features.stride for s in self.feature_size)
        self.in_channels, self.grid_size, self.use_tps = in_channels, grid_size, tps
        self.affine_head = Regression(feature_size=self.feature_size, identity=grids.affine_identity(1))
        self.tps_head = Regression(feature_size=self.feature_size, identity=grids.tps_identity(1, grid_size)) if tps else None

    def _prepare(self, x: torch.Tensor, name: str) -> torch.Tensor:
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f"{name} must be (N, {self.in_channels}, H, W), got {tuple(x.shape)}")
        x = x.float() if not x.is_floating_point() else x
        if tuple(x.shape[2:]) != self.input_size:
            x = F.interpolate(x, size=self.input_size, mode="bilinear", align_corners=grids.ALIGN_CORNERS, antialias=True)
        return x

    def _features(self, x: torch.Tensor) -> torch.Tensor:
        f = self.features(x)
        if tuple(f.shape[2:]) != self.feature_size:
            f = F.adaptive_avg_pool2d(f, self.feature_size)
        return l2_normalize(F.relu(f))

    def _regress(self, head: Regression, fa: torch.Tensor, fb: torch.Tensor) -> torch.Tensor:
        return head(l2_normalize(F.relu(correlation(fa, fb))))

    def forward(self, src_parsing: torch.Tensor, tgt_parsing: torch.Tensor) -> dict:
        if src_parsing.shape[0] != tgt_parsing.shape[0]:
            raise ValueError(f"batch sizes differ: {src_parsing.shape[0]} and {tgt_parsing.shape[0]}")
        a = self._prepare(src_parsing, "src_parsing")
        b = self._prepare(tgt_parsing, "tgt_parsing")
        fb = self._features(b)
        theta_affine = self._regress(self.affine_head, self._features(a), fb)
        if self.tps_head is not None:
            a_aff = grids.warp(a, grids.affine_grid(theta_affine, self.input_size), padding_mode="border")
            theta_tps = self._regress(self.tps_head, self._features(a_aff), fb)
        else:
            theta_tps = grids.tps_identity(a.shape[0], self.grid_size, device=a.device, dtype=theta_affine.dtype)
        grid_size = self.grid_size

        def grid(size):
            return grids.affine_tps_grid(theta_affine, theta_tps, size, grid_size)

        return {"theta_affine": theta_affine, "theta_tps": theta_tps, "grid": grid}

