"""Inception outputs of uint8 images under one protocol's input handling, in batches (shared by the
scorer and the FID real-image statistics)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from posewarp.formats.images import read_image
from posewarp.metrics.inception import prepare


def batches(items: Sequence, size: int) -> list[Sequence]:
    return [items[i : i + size] for i in range(0, len(items), size)]


@torch.inference_mode()
def inception_outputs(model: torch.nn.Module, images: list[np.ndarray], how, device,
                      bias_free: bool = False) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """``(pool, logits)`` as float64 arrays of ``(H, W, 3)`` uint8 images; ``how`` is a
    ``protocols.InceptionInput`` (resize and value scaling)."""
    x = torch.cat([prepare(torch.tensor(im, device=device).permute(2, 0, 1)[None], resize=how.resize,
                           normalize=how.normalize) for im in images])  # fmt: skip
    pool, logits = model(x, bias_free_logits=bias_free)
    return pool.double().cpu().numpy(), logits.double().cpu().numpy()


def read_metric_image(path) -> np.ndarray:
    """An image as the metric libraries read it: RGB uint8 with any alpha channel dropped, the stored
    colours kept (not composited on white): PIL's ``convert("RGB")`` of pytorch-fid, OpenCV's
    ``imread`` of ``lpips``. The papers' published images have no alpha channel."""
    return read_image(path, alpha="drop")
