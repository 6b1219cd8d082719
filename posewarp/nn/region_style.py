"""Region-wise appearance: the source's mean colour (or feature) per parsing label, painted into the target parsing.

Not in the paper: the per-region style path of later pose-transfer work (ADGAN, PISE), here in its
simplest form. A flat fill of each target region with its source mean colour already places the person's
colours in the new pose; the generator receives it as an input and adds the detail the warp carries.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def region_means(x: torch.Tensor, src_parsing: torch.Tensor) -> torch.Tensor:
    """``(N, K, C)``: the mean of ``x (N, C, H, W)`` over each label region of ``src_parsing (N, K, h, w)``
    (soft or one-hot, resized to x's size); a label the source lacks takes the mean over all its person labels."""
    if src_parsing.shape[2:] != x.shape[2:]:
        src_parsing = F.interpolate(src_parsing, size=x.shape[2:], mode="area")
    weights = src_parsing.to(x.dtype)
    area = weights.sum((2, 3))  # (N, K)
    sums = torch.einsum("nkhw,nchw->nkc", weights, x)
    person = sums[:, 1:].sum(1) / area[:, 1:].sum(1).clamp_min(1e-6)[:, None]  # (N, C)
    return torch.where(area[..., None] > 1e-6, sums / area.clamp_min(1e-6)[..., None], person[:, None])


def paint(means: torch.Tensor, tgt_parsing: torch.Tensor) -> torch.Tensor:
    """``(N, C, h, w)``: every pixel of ``tgt_parsing (N, K, h, w)`` coloured with its labels' ``means (N, K, C)``."""
    return torch.einsum("nkhw,nkc->nchw", tgt_parsing.to(means.dtype), means)
