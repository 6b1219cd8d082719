"""The working size of the preprocessing networks: large photos are downscaled first, results scaled back.

Both networks see a few hundred pixels (OpenPose a 184-pixel-high input at the default scale, SCHP a 473x473
letterbox), but the reference pipelines bring every map back to the full image before decoding: 57 float maps
of a 16-megapixel photo are 7 GB. Images with more than :data:`MAX_WORK_PIXELS` pixels are therefore shrunk to
that many (``cv2.INTER_AREA``) before anything else; keypoint coordinates are scaled back (pixel centres kept
aligned) and label maps upscaled by nearest neighbour. Images up to that size -- every dataset of the field
(Market 128x64, DeepFashion 256x176 and its 1101x750 originals) -- go through the reference steps unchanged,
so their outputs equal the reference's.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

MAX_WORK_PIXELS = 1024 * 1024


def working_size(height: int, width: int, max_pixels: int = MAX_WORK_PIXELS) -> tuple[int, int]:
    """``(h, w)`` to work at: the image's own size, or the largest of its shape within ``max_pixels``."""
    if height * width <= max_pixels:
        return height, width
    factor = math.sqrt(max_pixels / (height * width))
    return max(1, int(height * factor)), max(1, int(width * factor))


def downscale(rgb: np.ndarray, max_pixels: int = MAX_WORK_PIXELS) -> np.ndarray:
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


def upscale_labels(labels: np.ndarray, image_hw: tuple[int, int]) -> np.ndarray:
    """A label map at the working size brought to the image size by nearest neighbour (centre-aligned)."""
    if labels.shape[:2] == tuple(image_hw):
        return labels
    return cv2.resize(labels, (image_hw[1], image_hw[0]), interpolation=cv2.INTER_NEAREST_EXACT)
