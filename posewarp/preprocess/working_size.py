"""The working size of the preprocessing networks: large photos are downscaled first, results scaled back.

Both networks see a few hundred pixels (OpenPose a 184-pixel-high input at the default scale, SCHP a 473x473
letterbox), but the reference pipelines bring every map back to the full image before decoding: 57 float maps
of a 16-megapixel photo are 7 GB. Images with more than :data:`MAX_WORK_PIXELS` pixels are therefore shrunk to
that many (``cv2.INTER_AREA``) before anything else; keypoint coordinates are scaled back (pixel centres kept
aligned) and per-pixel scores upscaled bilinearly a band of rows at a time, so that the full-size scores never
sit in memory whole (only their uint8 argmax does). Images up to that size -- every dataset of the field
(Market 128x64, DeepFashion 256x176 and its 1101x750 originals) -- go through the reference steps unchanged,
so their outputs equal the reference's.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import cv2
import numpy as np

MAX_WORK_PIXELS = 1024 * 1024
BAND_ROWS = 64  # rows of full-size scores computed at once (4000 x 64 x 20 float32 = 20 MB)


def working_size(height: int, width: int, max_pixels: int | None = None) -> tuple[int, int]:
    """``(h, w)`` to work at: the image's own size, or the largest of its shape within ``max_pixels``
    (default :data:`MAX_WORK_PIXELS`)."""
    max_pixels = MAX_WORK_PIXELS if max_pixels is None else max_pixels
    if height * width <= max_pixels:
        return height, width
    factor = math.sqrt(max_pixels / (height * width))
    return max(1, int(height * factor)), max(1, int(width * factor))


def downscale(rgb: np.ndarray, max_pixels: int | None = None) -> np.ndarray:
    """``rgb`` itself when small enough, else an area-averaged copy at :func:`working_size`."""
    h, w = working_size(rgb.shape[0], rgb.shape[1], max_pixels)
    if (h, w) == rgb.shape[:2]:
        return rgb
    return cv2.resize(rgb, (w, h), interpolation=cv2.INTER_AREA)


def scale_points(points: np.ndarray, work_hw: tuple[int, int], image_hw: tuple[int, int]) -> np.ndarray:
    """x, y of ``points[..., :3]`` (x, y, confidence) from working-size to image pixels; missing ones stay 0."""
    if tuple(work_hw) == tuple(image_hw):
        return points
    out = np.array(points, copy=True)
    found = out[..., 2] > 0
    sy, sx = image_hw[0] / work_hw[0], image_hw[1] / work_hw[1]
    out[..., 0] = np.where(found, (out[..., 0] + 0.5) * sx - 0.5, 0)
    out[..., 1] = np.where(found, (out[..., 1] + 0.5) * sy - 0.5, 0)
    return out


def _taps(n_out: int, n_in: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Bilinear source indices and weights along one axis, pixel centres aligned (OpenCV's INTER_LINEAR rule)."""
    src = np.clip((np.arange(n_out) + 0.5) * (n_in / n_out) - 0.5, 0, n_in - 1)
    lo = np.floor(src).astype(np.intp)
    return lo, np.minimum(lo + 1, n_in - 1), (src - lo).astype(np.float32)


def upscale_bands(scores: np.ndarray, image_hw: tuple[int, int]) -> Iterator[tuple[slice, np.ndarray]]:
    """``(rows, band)`` pieces of ``scores`` ``(h, w, C)`` resized bilinearly to ``image_hw``, top to bottom."""
    y0, y1, wy = _taps(image_hw[0], scores.shape[0])
    x0, x1, wx = _taps(image_hw[1], scores.shape[1])
    wx = wx[None, :, None]
    for start in range(0, image_hw[0], BAND_ROWS):
        rows = slice(start, min(start + BAND_ROWS, image_hw[0]))
        top = scores[y0[rows]]
        bottom = scores[y1[rows]]
        top = top[:, x0] * (1 - wx) + top[:, x1] * wx
        bottom = bottom[:, x0] * (1 - wx) + bottom[:, x1] * wx
        w = wy[rows][:, None, None]
        yield rows, top * (1 - w) + bottom * w


def upscale(scores: np.ndarray, image_hw: tuple[int, int], out: np.ndarray | None = None) -> np.ndarray:
    """``scores`` at ``image_hw`` (bilinear; itself when already that size), written into ``out`` if given."""
    if scores.shape[:2] == tuple(image_hw) and out is None:
        return scores
    out = np.empty((*image_hw, *scores.shape[2:]), scores.dtype) if out is None else out
    for rows, band in upscale_bands(scores, image_hw):
        out[rows] = band
    return out


def upscaled_argmax(scores: np.ndarray, image_hw: tuple[int, int]) -> np.ndarray:
    """``argmax(upscale(scores), axis=2)`` as uint8, without the full-size scores in memory."""
    if scores.shape[:2] == tuple(image_hw):
        return np.argmax(scores, axis=2).astype(np.uint8)
    labels = np.empty(image_hw, np.uint8)
    for rows, band in upscale_bands(scores, image_hw):
        labels[rows] = np.argmax(band, axis=2)
    return labels
