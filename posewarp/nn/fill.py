"""Filling holes in an image from what surrounds them (pull-push interpolation), on any device.

Where the source person stood, the target shows background that no camera saw; ``source_background``
fills the person's pixels smoothly from the background around them. The "pull" halves the image level by
level, averaging only known pixels (normalised convolution); the "push" fills every unknown pixel of a
level from the level below it. No learning; a few pooling and resizing operations per level.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def fill_holes(image: torch.Tensor, known: torch.Tensor) -> torch.Tensor:
    """``image (N, C, H, W)`` with every pixel where ``known (N, 1, H, W)`` is 0 filled from the known ones
    (an image with nothing known stays as it is)."""
    if known.shape[0] != image.shape[0] or known.shape[1] != 1 or known.shape[2:] != image.shape[2:]:
        raise ValueError(f"known {tuple(known.shape)} does not fit image {tuple(image.shape)}")
    weight = known.to(image.dtype)
    levels = [(image * weight, weight)]
    while min(levels[-1][1].shape[2:]) > 1:
        x, w = levels[-1]
        levels.append((F.avg_pool2d(x, 2, ceil_mode=True), F.avg_pool2d(w, 2, ceil_mode=True)))
    x, w = levels[-1]
    filled = x / w.clamp_min(1e-8)
    for x, w in reversed(levels[:-1]):
        coarse = F.interpolate(filled, size=x.shape[2:], mode="bilinear", align_corners=False)
        # known pixels (weight 1) keep their value; partly known ones (from pooling) mix with the coarse fill
        filled = x / w.clamp_min(1e-8) * w.clamp(max=1) + coarse * (1 - w.clamp(max=1))
    nothing = weight.flatten(1).sum(1) == 0
    return torch.where(nothing[:, None, None, None], image, filled)


def source_background(src_image: torch.Tensor, person: torch.Tensor) -> torch.Tensor:
    """The source image with its person (``person (N, 1, H, W)``, grown by one pixel) filled from the background
    around it."""
    grown = F.max_pool2d(person.to(src_image.dtype), 3, stride=1, padding=1)
    return fill_holes(src_image, 1 - grown)
