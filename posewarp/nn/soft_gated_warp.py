"""The soft-gated warping-block (paper section 3.2; reference/paper.md 1.1).

With Phi the appearance feature map, R(Phi) its residual feature map and W the transformation
grid of the geometric matcher, the block computes

    out = Phi + g * W(R(Phi)),   g = sigmoid(conv([shape features, W(R(Phi))]))

The gate g, one value per feature location (shape (N, 1, h, w)), is conditioned on the target
shape (parsing + pose) features and on the warped features, so the network decides where and how
much transformation to apply. The paper's text stops before its exact equation; this is the
residual reading that matches the authors' code (z = x + warp(main(x))) plus the soft gate the
paper describes. Ablations: ``gate=False`` uses g = 1 (the code's final variant), ``warp=False``
replaces W by the identity (the grid is then not needed).
"""

from __future__ import annotations

import torch
from torch import nn

from posewarp.nn.blocks import norm
from posewarp.nn.grids import resize_grid, warp as grid_warp


class SoftGatedWarpBlock(nn.Module):
    """``forward(phi, shape_features, grid) -> (out, gate)``; ``grid`` (N, H, W, 2) at any resolution."""

    def __init__(self, *, channels: int, shape_channels: int, gate: bool = True, warp: bool = True,
                 gate_hidden: int | None = None):
        super().__init__()
        self.channels, self.shape_channels = channels, shape_channels
        self.use_gate, self.use_warp = gate, warp
        self.residual = nn.Sequential(
            nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3), norm(channels), nn.ReLU(True),
            nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3), norm(channels),
        )
        if gate:
            hidden = gate_hidden or max(channels // 4, 8)
            self.gate = nn.Sequential(
                nn.ReflectionPad2d(1), nn.Conv2d(shape_channels + channels, hidden, 3), nn.ReLU(True),
                nn.ReflectionPad2d(1), nn.Conv2d(hidden, 1, 3),
            )
        else:
            self.gate = None

    def forward(self, phi: torch.Tensor, shape_features: torch.Tensor, grid: torch.Tensor | None):
        if phi.dim() != 4 or phi.shape[1] != self.channels:
            raise ValueError(f"phi must be (N, {self.channels}, h, w), got {tuple(phi.shape)}")
        if shape_features.shape[1] != self.shape_channels or shape_features.shape[2:] != phi.shape[2:]:
            raise ValueError(f"shape_features {tuple(shape_features.shape)} do not fit phi {tuple(phi.shape)}")
        r = self.residual(phi)
        if self.use_warp:
            if grid is None:
                raise ValueError("the warping block needs a grid (or build it with warp=False)")
            r = grid_warp(r, resize_grid(grid, phi.shape[2:]))
        if self.gate is not None:
            g = torch.sigmoid(self.gate(torch.cat((shape_features, r), dim=1)))
        else:
            g = torch.ones_like(phi[:, :1])
        return phi + g * r, g

