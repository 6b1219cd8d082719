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
from posewarp.nn.grids import identity_grid, resize_grid
from posewarp.nn.grids import warp as grid_warp


class SoftGatedWarpBlock(nn.Module):
    """``forward(phi, shape_features, grid) -> (out, gate)``; ``grid`` (N, H, W, 2) (or (N, 1, H, W, 2)) at any resolution."""

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
            r = grid_warp(r, resize_grid(as_grids(grid, 1)[0], phi.shape[2:]))
        if self.gate is not None:
            g = torch.sigmoid(self.gate(torch.cat((shape_features, r), dim=1)))
        else:
            g = torch.ones_like(phi[:, :1])
        return phi + g * r, g



def as_grids(grid: torch.Tensor | None, count: int) -> list[torch.Tensor] | None:
    """``(N, H, W, 2)`` or ``(N, G, H, W, 2)`` -> a list of G grids (checked against ``count``)."""
    if grid is None:
        return None
    if grid.dim() == 4:
        grid = grid[:, None]
    if grid.dim() != 5 or grid.shape[1] != count or grid.shape[-1] != 2:
        raise ValueError(f"expected {count} grid(s) (N, {count}, H, W, 2), got {tuple(grid.shape)}")
    return list(grid.unbind(1))


UNWARPED_PRIOR = 2.0  # initial logit advantage of the unwarped candidate
MOTION_PRIOR = 20.0  # initial logit per unit of displacement (normalised coordinates) for a warped candidate


class ChannelGatedWarpBlock(nn.Module):
    """The warping-block as posewarp builds it: a soft gate per channel and location selects between the
    unwarped features and the features warped by each transformation grid.

        out = a_0 * Phi + sum_g a_g * W_g(Phi),   a = softmax over the 1 + G candidates

    The gate sees the unwarped features, every warped version, the target shape features and how far each
    grid moves each location, so it can "control the transformation degree ... according to different pose
    manipulation requests" and "adaptively select effective feature maps" (paper section 3.2) instead of
    one number per location. Its logits are a learned function of all of that plus a learned linear term of
    each grid's displacement (``motion``), which starts at "keep the unwarped features where nothing moves,
    take the warped ones as far as a grid moves": where a grid is the identity both candidates are equal and
    nothing would teach the gate otherwise. ``forward`` returns ``(out, degree)`` with ``degree = 1 - mean_c a_0``
    (N, 1, h, w): the share taken from warped features. Ablations: ``gate=False`` always takes the warped
    features (the mean over the grids: degree 1), ``warp=False`` makes every W the identity (out = Phi).
    """

    def __init__(self, *, channels: int, shape_channels: int, num_grids: int = 1, gate: bool = True,
                 warp: bool = True, gate_hidden: int | None = None):
        super().__init__()
        self.channels, self.shape_channels, self.num_grids = channels, shape_channels, num_grids
        self.use_gate, self.use_warp = gate, warp
        if gate and warp:  # without a warp there is nothing to choose between
            hidden = gate_hidden or max(channels // 2, 8)
            in_channels = channels * (1 + num_grids) + shape_channels + num_grids
            self.gate = nn.Sequential(
                nn.ReflectionPad2d(1), nn.Conv2d(in_channels, hidden, 3), nn.ReLU(True),
                nn.ReflectionPad2d(1), nn.Conv2d(hidden, channels * (1 + num_grids), 3),
            )
            last = self.gate[-1]
            nn.init.zeros_(last.weight)
            self.motion = nn.Conv2d(num_grids, channels * (1 + num_grids), 1)
            with torch.no_grad():
                last.bias.zero_()
                last.bias[:channels] = UNWARPED_PRIOR
                self.motion.weight.zero_()
                self.motion.bias.zero_()
                for g in range(num_grids):
                    self.motion.weight[channels * (1 + g) : channels * (2 + g), g] = MOTION_PRIOR
        else:
            self.gate = self.motion = None

    def forward(self, phi: torch.Tensor, shape_features: torch.Tensor, grid: torch.Tensor | None):
        if phi.dim() != 4 or phi.shape[1] != self.channels:
            raise ValueError(f"phi must be (N, {self.channels}, h, w), got {tuple(phi.shape)}")
        if shape_features.shape[1] != self.shape_channels or shape_features.shape[2:] != phi.shape[2:]:
            raise ValueError(f"shape_features {tuple(shape_features.shape)} do not fit phi {tuple(phi.shape)}")
        size = phi.shape[2:]
        if not self.use_warp:
            return phi, torch.zeros_like(phi[:, :1])
        grid_list = as_grids(grid, self.num_grids)
        if grid_list is None:
            raise ValueError("the warping block needs a grid (or build it with warp=False)")
        grid_list = [resize_grid(g, size) for g in grid_list]
        warped = [grid_warp(phi, g) for g in grid_list]
        if self.gate is None:
            return torch.stack(warped).mean(0), torch.ones_like(phi[:, :1])
        identity = identity_grid(size, device=phi.device)
        moved = [(g - identity).norm(dim=-1)[:, None].to(phi.dtype) for g in grid_list]
        logits = self.gate(torch.cat([phi, *warped, shape_features, *moved], dim=1)) + self.motion(torch.cat(moved, 1))
        n, _, h, w = phi.shape
        a = logits.reshape(n, 1 + self.num_grids, self.channels, h, w).softmax(dim=1)
        out = a[:, 0] * phi + sum(a[:, 1 + i] * x for i, x in enumerate(warped))
        return out, 1 - a[:, 0].mean(dim=1, keepdim=True)

