"""The pose mask of mask-SSIM and mask-IS exactly as PG2/PATN drew it (``pose_utils.produce_ma_mask``,
also copied into GFLA's ``script/metrics.py`` for mask-LPIPS), run with scikit-image 0.14.2.

For each of 23 limbs whose two joints are present: the quadrilateral of the limb widened by
``radius`` on both sides, rasterised like 0.14.2's ``skimage.draw.polygon`` (every pixel centre of the
vertices' bounding box, clipped to the image, that an even-odd crossing test puts inside; a point on
an edge may fall either way, exactly as there). For each present joint: 0.14.2's ``circle`` (pixels
whose squared distance to the joint, divided by ``radius``, is below 1). Then a 5x5 dilation followed
by a 5x5 erosion (scipy's grey morphology with reflected borders, as skimage's ``dilation``/``erosion``
called it). Written here with numpy and scipy so scikit-image is not needed at run time.

One difference: a limb whose two joints coincide has no direction; PATN's script divides by zero and
stops there, this mask leaves the band out (the joints' disks still cover the point).

``posewarp.formats.heatmaps.pose_mask`` is the training-time mask (distance bands, torch); it differs
from this one by a few pixels per image, which moves mask-SSIM in the third decimal.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import ndimage

from posewarp.formats.heatmaps import MASK_LIMBS  # PATN's limb list, 0-based: (1, 2), (1, 5), ...

CLOSE = 5


def _polygon(rows: np.ndarray, cols: np.ndarray, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Pixels inside the polygon with vertices ``(rows[i], cols[i])`` (scikit-image 0.14.2 ``_polygon``)."""
    r0, r1 = int(max(0, rows.min())), min(shape[0] - 1, int(math.ceil(rows.max())))
    c0, c1 = int(max(0, cols.min())), min(shape[1] - 1, int(math.ceil(cols.max())))
    if r1 < r0 or c1 < c0:
        return np.zeros((0,), np.intp), np.zeros((0,), np.intp)
    y = np.arange(r0, r1 + 1, dtype=np.float64)[:, None]
    x = np.arange(c0, c1 + 1, dtype=np.float64)[None, :]
    inside = np.zeros((len(y), x.shape[1]), bool)
    j = len(rows) - 1
    with np.errstate(divide="ignore", invalid="ignore"):
        for i in range(len(rows)):
            yi, yj, xi, xj = rows[i], rows[j], cols[i], cols[j]
            straddles = ((yi <= y) & (y < yj)) | ((yj <= y) & (y < yi))
            crossing = x < (xj - xi) * (y - yi) / (yj - yi) + xi  # only read where the edge straddles y
            inside ^= straddles & crossing
            j = i
    rr, cc = np.nonzero(inside)
    return rr + r0, cc + c0


def _circle(row: float, col: float, radius: float, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Pixels of scikit-image 0.14.2's ``circle(row, col, radius, shape)`` (its ``ellipse`` without rotation)."""
    center = np.array([row, col], np.float64)
    upper = np.maximum(np.ceil(center - radius).astype(int), 0)
    lower = np.minimum(np.floor(center + radius).astype(int), np.array(shape) - 1)
    extent = lower - upper + 1
    if (extent <= 0).any():
        return np.zeros((0,), np.intp), np.zeros((0,), np.intp)
    shifted = center - upper
    r = np.arange(0.0, float(extent[0]))[:, None] - shifted[0]
    c = np.arange(0.0, float(extent[1]))[None, :] - shifted[1]
    distances = (r / radius) ** 2 + ((-c) / radius) ** 2
    rr, cc = np.nonzero(distances < 1)
    return rr + upper[0], cc + upper[1]


def patn_pose_mask(kp: np.ndarray, size: tuple[int, int], radius: int = 4) -> np.ndarray:
    """``(H, W)`` bool mask of ``(18, 3)`` keypoints (x, y, confidence; missing = confidence 0)."""
    kp = np.asarray(kp, np.float64)
    assert kp.shape == (18, 3), f"expected (18, 3) keypoints, got {kp.shape}"
    h, w = int(size[0]), int(size[1])
    mask = np.zeros((h, w), bool)
    yx = kp[:, [1, 0]]  # PATN keeps (row, column)
    present = kp[:, 2] > 0
    for f, t in MASK_LIMBS:
        if not (present[f] and present[t]):
            continue
        d = yx[f] - yx[t]
        length = np.linalg.norm(d)
        if length == 0:
            continue
        normal = radius * np.array([-d[1], d[0]]) / length
        corners = np.array([yx[f] + normal, yx[f] - normal, yx[t] - normal, yx[t] + normal])
        rr, cc = _polygon(corners[:, 0], corners[:, 1], (h, w))
        mask[rr, cc] = True
    for i in np.flatnonzero(present):
        rr, cc = _circle(yx[i, 0], yx[i, 1], radius, (h, w))
        mask[rr, cc] = True
    square = np.ones((CLOSE, CLOSE), bool)
    mask = ndimage.grey_dilation(mask, footprint=square)
    return ndimage.grey_erosion(mask, footprint=square)
