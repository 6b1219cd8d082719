"""Keypoints and parsing as an estimator gives them, made from the exact ones of a synthetic photo.

A real pipeline never sees the truth: OpenPose jitters, misses wrists and ankles, swaps a limb's left and
right and, seen from the back, often the whole body's; a LIP parser draws ragged boundaries and confuses
neighbouring or similar labels. Models trained and tested on such inputs learn what a user's files give.
Rates come from the recipe (``recipes.Recipe``); everything is drawn from the photo's own random stream.
"""

from __future__ import annotations

import cv2
import numpy as np

from posewarp.formats.keypoints import FLIP_PERMUTATION
from posewarp.formats.parsing import FLIP_PERMUTATION as LABEL_SWAP

LIMB_PAIRS = ((2, 5), (3, 6), (4, 7), (8, 11), (9, 12), (10, 13))  # right/left shoulder .. ankle
EXTREMITIES = (4, 7, 10, 13)  # wrists and ankles: missed twice as often
# label -> a label a parser confuses it with (LIP ids): coat/upper-clothes, dress/skirt, pants/skirt,
# left/right arms, legs and shoes, hair/hat, face/hair
CONFUSED = {5: 7, 7: 5, 6: 5, 12: 9, 9: 12, 14: 15, 15: 14, 16: 17, 17: 16, 18: 19, 19: 18, 2: 13, 1: 2, 10: 5}


def _torso_length(kp: np.ndarray, height: int) -> float:
    if kp[1, 2] > 0 and (kp[8, 2] > 0 or kp[11, 2] > 0):
        hips = kp[[i for i in (8, 11) if kp[i, 2] > 0], :2].mean(0)
        return float(max(np.hypot(*(kp[1, :2] - hips)), 1.0))
    return height / 3.0


def keypoints(kp: np.ndarray, rng: np.random.Generator, *, height: int, width: int, jitter: float, miss: float,
              swap: float, mirrored: bool = False) -> np.ndarray:
    """``(18, 3)`` estimated keypoints: jittered by ``jitter`` torso lengths, missed (``miss``; wrists and ankles
    twice as often), a limb pair's left and right swapped (chance ``swap``), all left and right swapped when
    ``mirrored`` (a back view read as a front); confidences in (0.3, 1) for the points kept, like OpenPose's."""
    out = kp.astype(np.float32).copy()
    seen = out[:, 2] > 0
    sigma = jitter * _torso_length(out, height)
    out[:, :2] += rng.normal(0.0, 1.0, size=(18, 2)).astype(np.float32) * sigma
    rates = np.full(18, miss, np.float64)
    rates[list(EXTREMITIES)] *= 2
    drop = rng.uniform(size=18) < rates
    if mirrored:
        out = out[list(FLIP_PERMUTATION)]
        seen, drop = seen[list(FLIP_PERMUTATION)], drop[list(FLIP_PERMUTATION)]
    if rng.uniform() < swap:
        a, b = LIMB_PAIRS[int(rng.integers(len(LIMB_PAIRS)))]
        out[[a, b]] = out[[b, a]]
        seen[[a, b]] = seen[[b, a]]
    inside = (out[:, 0] >= 0) & (out[:, 0] <= width - 1) & (out[:, 1] >= 0) & (out[:, 1] <= height - 1)
    keep = seen & ~drop & inside
    out[:, 2] = np.where(keep, rng.uniform(0.3, 1.0, size=18), 0.0).astype(np.float32)
    out[~keep] = 0.0
    return out


def parsing(labels: np.ndarray, rng: np.random.Generator, *, ragged: float, confuse: float,
            mirrored: bool = False) -> np.ndarray:
    """``(H, W)`` estimated labels: boundaries displaced by a smooth random field of about ``ragged`` pixels
    (at 128 rows; scaled with the height), part of some regions given a confusable label, left and right
    swapped when ``mirrored`` (the parser read a back view as a front)."""
    h, w = labels.shape
    out = LABEL_SWAP[labels].astype(labels.dtype) if mirrored else labels.copy()
    amp = ragged * h / 128.0
    if amp > 0:
        cells = (max(2, h // 8), max(2, w // 8))
        dx, dy = (cv2.resize(rng.uniform(-1, 1, size=cells).astype(np.float32), (w, h),
                             interpolation=cv2.INTER_CUBIC) * amp for _ in range(2))  # fmt: skip
        xs, ys = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
        out = cv2.remap(out, xs + dx, ys + dy, interpolation=cv2.INTER_NEAREST, borderMode=cv2.BORDER_REPLICATE)
    for label in np.unique(out):
        if int(label) not in CONFUSED or rng.uniform() >= confuse:
            continue
        region = out == label
        ys, xs = np.nonzero(region)
        angle = rng.uniform(0, 2 * np.pi)
        side = (xs - xs.mean()) * np.cos(angle) + (ys - ys.mean()) * np.sin(angle) > rng.uniform(-0.3, 0.3) * (
            np.ptp(xs) + np.ptp(ys) + 1) / 2  # fmt: skip
        out[ys[side], xs[side]] = CONFUSED[int(label)]
    return out
