"""Measures beyond SSIM that work offline (issue 20, deliverable 2), on batches of images ``(N, 3, H, W)`` in
[-1, 1] and label maps ``(N, H, W)`` int64.

Three of them use ``net``, a parser trained in-tool on the synthetic world (``posewarp.metrics.world_parser``;
not the SCHP parser, never shown a real photograph), and must be reported as computed with it:

- output-parsing mIoU: ``net`` parses the *generated* image and the result is scored against the *target*
  parsing (are the right parts in the right places?); sum ``output_parsing_confusion`` over batches, then
  ``output_parsing_scores``.
- world-LPIPS (``world_lpips``): LPIPS's recipe on ``net``'s encoder features with no learned linear layers:
  each level's features unit-normalised along channels, squared difference summed over channels, averaged
  over space, summed over levels. Identical images give exactly 0.
- world-FID (``world_fid``): the Frechet distance (``posewarp.metrics.fid``) between the Gaussians of
  ``pooled_features`` (each level's spatial mean, concatenated) of a real and a generated set.

``ghost_error`` needs no network: the error inside the source person's silhouette where the target has
background, i.e. what is left of the source person where it should have gone.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch
from torch import nn

from posewarp.formats import parsing
from posewarp.formats.parsing import NUM_LABELS

EPS = 1e-10  # as LPIPS's channel normalisation


def _check_images(x: torch.Tensor, name: str) -> None:
    assert isinstance(x, torch.Tensor) and x.ndim == 4 and x.shape[1] == 3, \
        f"{name}: expected (N, 3, H, W), got {tuple(x.shape)}"  # fmt: skip


def _check_labels(y: torch.Tensor, name: str) -> None:
    assert isinstance(y, torch.Tensor) and y.ndim == 3 and not y.dtype.is_floating_point, \
        f"{name}: expected integer (N, H, W) labels, got {y.dtype} {tuple(y.shape)}"  # fmt: skip


def _on(net: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """``x`` as float32 on the device of ``net``'s weights."""
    return x.to(device=next(net.parameters()).device, dtype=torch.float32)


@torch.no_grad()
def output_parsing(net: nn.Module, images: torch.Tensor) -> torch.Tensor:
    """``(N, H, W)`` int64 labels that ``net`` reads from ``images`` (on the images' device)."""
    _check_images(images, "images")
    return net(_on(net, images)).argmax(1).to(images.device)


def output_parsing_confusion(
    net: nn.Module, fake: torch.Tensor, target_labels: torch.Tensor, remap: str | None = None
) -> torch.Tensor:
    """``(20, 20)`` float64 counts of one batch, rows = the target parsing, columns = ``net``'s parsing of the
    generated images; add batches up and pass the sum to ``output_parsing_scores``.

    ``remap="pise8"`` (``posewarp.formats.parsing.REMAPS``) scores both on 8 coarse labels instead, with left
    and right merged: the world parser tells left from right worst (on a flat figure seen from the front or
    the back only the face says which side is which)."""
    # the trainer's own confusion/scores, imported here so that importing the metrics never imports the trainer
    from posewarp.metrics.parsing_scores import confusion

    _check_labels(target_labels, "target_labels")
    pred = output_parsing(net, fake)
    if pred.shape != target_labels.shape:
        raise ValueError(f"generated images {tuple(fake.shape)} and target labels {tuple(target_labels.shape)} differ")
    pred, target, classes = pred.cpu(), target_labels.cpu(), NUM_LABELS
    if remap is not None:
        classes = len(parsing.REMAPS[remap][1]) if remap in parsing.REMAPS else 0
        pred, target = parsing.remap(pred, remap), parsing.remap(target, remap)  # an unknown name: PosewarpError
    return confusion(pred, target, classes)


def output_parsing_scores(conf: torch.Tensor) -> dict[str, float]:
    """``{"pixel_acc", "miou"}`` of a summed confusion (mIoU over the labels present in the target or the
    output parsing), exactly as Stage I's validation scores its parsing."""
    from posewarp.metrics.parsing_scores import parsing_scores

    return parsing_scores(conf)


def _unit(f: torch.Tensor) -> torch.Tensor:
    """Features divided by their length along channels (LPIPS's ``normalize_tensor``)."""
    return f / (f.pow(2).sum(1, keepdim=True).sqrt() + EPS)


@torch.no_grad()
def world_lpips(net: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """``(N,)`` float32 world-LPIPS distances between image pairs ``x[i]``, ``y[i]`` (on ``net``'s device).

    The two batches go through ``net.features`` separately, so identical images give bitwise equal features
    and exactly 0. Each level contributes at most 4 (opposite unit vectors); the sum is over levels."""
    _check_images(x, "x")
    assert x.shape == y.shape, f"x {tuple(x.shape)} and y {tuple(y.shape)} differ"
    fx, fy = net.features(_on(net, x)), net.features(_on(net, y))
    total = torch.zeros(x.shape[0], device=fx[0].device)
    for a, b in zip(fx, fy):
        total = total + (_unit(a) - _unit(b)).pow(2).sum(1).mean(dim=(1, 2))
    return total


@torch.no_grad()
def pooled_features(net: nn.Module, images: torch.Tensor, batch_size: int = 64) -> np.ndarray:
    """``(N, D)`` float64: every level of ``net.features`` averaged over space, concatenated (D = the sum of
    the levels' channels), in batches of ``batch_size``."""
    _check_images(images, "images")
    out = []
    for i in range(0, len(images), batch_size):
        feats = net.features(_on(net, images[i : i + batch_size]))
        out.append(torch.cat([f.mean(dim=(2, 3)) for f in feats], dim=1).double().cpu())
    return torch.cat(out).numpy()


def world_fid(real_features: np.ndarray, fake_features: np.ndarray) -> float:
    """The Frechet distance between Gaussians fitted to ``pooled_features`` of a real and a generated set
    (``posewarp.metrics.fid.statistics`` / ``frechet_distance``; with fewer images than dimensions the
    covariances are singular and the distance is only comparable between sets of the same size)."""
    from posewarp.metrics.fid import frechet_distance, statistics

    mu1, s1 = statistics(real_features)
    mu2, s2 = statistics(fake_features)
    return frechet_distance(mu1, s1, mu2, s2)


class Ghost(NamedTuple):
    """Per pair: ``error`` (float32, NaN where ``pixels`` is 0) and ``pixels`` (int64, the region's size)."""

    error: torch.Tensor
    pixels: torch.Tensor


def ghost_region(src_labels: torch.Tensor, tgt_labels: torch.Tensor) -> torch.Tensor:
    """``(N, H, W)`` bool: pixels of the source person (label > 0) that are background (0) in the target."""
    _check_labels(src_labels, "src_labels")
    assert src_labels.shape == tgt_labels.shape, f"{tuple(src_labels.shape)} vs {tuple(tgt_labels.shape)}"
    return (src_labels > 0) & (tgt_labels == 0)


def ghost_error(fake: torch.Tensor, real: torch.Tensor, src_labels: torch.Tensor, tgt_labels: torch.Tensor) -> Ghost:
    """Mean absolute error between the generated and the target image (in [-1, 1] units, averaged over
    channels; ``fake`` clamped to [-1, 1] as for L1) over ``ghost_region``: 0 when the person left the place
    where it stood and the background came back, large when the source person is still drawn there.

    A pair whose region is empty (the target covers all of the source silhouette) has ``error`` NaN and
    ``pixels`` 0: skip it, e.g. ``g.error[g.pixels > 0].mean()``."""
    _check_images(fake, "fake")
    assert fake.shape == real.shape and fake.shape[-2:] == src_labels.shape[-2:], \
        f"fake {tuple(fake.shape)}, real {tuple(real.shape)}, labels {tuple(src_labels.shape)}"  # fmt: skip
    region = ghost_region(src_labels, tgt_labels).to(fake.device)
    diff = (fake.float().clamp(-1, 1) - real.float()).abs().mean(1)
    pixels = region.sum(dim=(1, 2))
    total = (diff * region).sum(dim=(1, 2))
    error = torch.where(pixels > 0, total / pixels.clamp(min=1), torch.full_like(total, float("nan")))
    return Ghost(error=error, pixels=pixels)
