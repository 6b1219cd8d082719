"""PSP context encoding with the bottleneck applied to the pooled priors before they are upsampled.

SCHP's context encoding (Zhao et al., PSPNet 2017) upsamples four pooled priors (1, 2, 3, 6 bins, 512 channels each)
to the 30x30 feature map, concatenates them with the 2048 features and runs a 3x3 convolution 4096 -> 512 on the
result: the largest single layer of the parser (17 of its 76 GMAC at 473x473), half of it spent on the upsampled
priors. Bilinear upsampling is linear and separable, ``up(p) = U_y p U_x^T``, and so is the convolution; each of its
nine taps only shifts the rows of ``U_y`` and ``U_x``. So the prior half equals
``sum over taps (dy, dx) of U_y[shifted by dy] (W[:, :, dy, dx] p) U_x[shifted by dx]^T``: the channel mixing runs
on the b x b priors and only 512 maps are upsampled. :class:`FactorizedPyramidPooling` computes that, holding the
same weights; its outputs equal the original's up to float rounding.
"""

from __future__ import annotations

import torch
from torch import nn


def interpolation_matrix(out_size: int, in_size: int, *, dtype=torch.float32, device=None) -> torch.Tensor:
    """``(out_size + 2, in_size)``: bilinear ``align_corners=True`` weights, with a zero row above and below (the
    convolution's zero padding)."""
    scale = (in_size - 1) / (out_size - 1) if out_size > 1 else 0.0
    src = torch.arange(out_size, dtype=torch.float64, device=device) * scale
    lo = src.floor().clamp(max=in_size - 1)
    frac = (src - lo)[:, None]
    columns = torch.arange(in_size, dtype=torch.float64, device=device)[None, :]
    hi = (lo + 1).clamp(max=in_size - 1)[:, None]
    weights = (columns == lo[:, None]) * (1 - frac) + (columns == hi) * frac
    return torch.nn.functional.pad(weights, (0, 0, 1, 1)).to(dtype)


def conv3x3_of_upsampled(prior: torch.Tensor, weight: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """``conv2d(upsample(prior, size, bilinear, align_corners=True), weight, padding=1)`` for a 3x3 ``weight``."""
    n, _, bh, bw = prior.shape
    a = interpolation_matrix(size[0], bh, dtype=prior.dtype, device=prior.device)
    b = interpolation_matrix(size[1], bw, dtype=prior.dtype, device=prior.device)
    rows = torch.stack([a[d : d + size[0]] for d in range(3)])  # (3, H, bh): tap dy reads row y + dy - 1
    cols = torch.stack([b[d : d + size[1]] for d in range(3)])  # (3, W, bw)
    mixed = torch.einsum("ocde,ncjk->ndeojk", weight, prior)  # channel mixing on the small priors
    mixed = torch.einsum("ndeojk,exk->ndojx", mixed, cols)  # columns, summed over dx
    return torch.einsum("dyj,ndojx->noyx", rows, mixed)  # rows, summed over dy


class FactorizedPyramidPooling(nn.Module):
    """The same function as a (batch-norm folded or not) ``PyramidPooling``, computed as the module docstring says."""

    def __init__(self, psp: nn.Module):
        super().__init__()
        conv, self.activation = psp.bottleneck[0], psp.bottleneck[1]
        if conv.kernel_size != (3, 3) or conv.padding != (1, 1) or conv.stride != (1, 1):
            raise ValueError("the pyramid's bottleneck must be a 3x3 convolution with padding 1")
        self.stages = psp.stages
        widths = [stage[1].out_channels for stage in psp.stages]
        prior_channels = sum(widths)
        weight = conv.weight.detach()
        self.features = nn.Conv2d(conv.in_channels - prior_channels, conv.out_channels, 3, padding=1,
                                  bias=conv.bias is not None)  # fmt: skip
        with torch.no_grad():
            self.features.weight.copy_(weight[:, prior_channels:])
            if conv.bias is not None:
                self.features.bias.copy_(conv.bias)
        self.register_buffer("prior_weight", weight[:, :prior_channels].clone())
        self.widths = widths

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        size = (x.shape[-2], x.shape[-1])
        out = self.features(x)
        start = 0
        for stage, width in zip(self.stages, self.widths):
            out = out + conv3x3_of_upsampled(stage(x), self.prior_weight[:, start : start + width], size)
            start += width
        return self.activation(out)
