"""Validation metrics computed during training on the test split.

Stage I: pixel accuracy and mean IoU of the predicted target parsing (``posewarp.metrics.parsing_scores``:
from a summed confusion matrix, so batches and ranks add up exactly). Stage II: SSIM (``posewarp.metrics.ssim``, the PG2/PATN Gaussian
variant on uint8 images, as ``posewarp eval`` computes it) and L1 in [-1, 1] units.
"""

from __future__ import annotations

import torch

from posewarp.formats.images import to_uint8


def image_sums(fake: torch.Tensor, real: torch.Tensor) -> dict[str, torch.Tensor]:
    """Per-batch sums of SSIM and L1 (images ``(N, 3, H, W)`` in [-1, 1]) and the image count."""
    from posewarp.metrics.ssim import ssim

    fake, real = fake.float(), real.float()
    a, b = to_uint8(fake), to_uint8(real)
    s = sum(ssim(x, y) for x, y in zip(a, b))
    l1 = (fake.clamp(-1, 1) - real).abs().mean(dim=(1, 2, 3)).sum()
    return {"ssim": torch.tensor(float(s), dtype=torch.float64), "l1": l1.double().cpu(),
            "count": torch.tensor(float(len(a)), dtype=torch.float64)}


def image_scores(sums: dict[str, torch.Tensor], prefix: str = "") -> dict[str, float]:
    n = float(sums[f"{prefix}count"])
    return {f"{prefix}ssim": float(sums[f"{prefix}ssim"]) / n, f"{prefix}l1": float(sums[f"{prefix}l1"]) / n}
