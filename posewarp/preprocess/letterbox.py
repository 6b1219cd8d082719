"""SCHP's letterbox: the affine map of a whole image into the square network input, and back for the scores.

reference/preprocessing.md C.3 (``simple_extractor.py``, ``get_affine_transform``, ``transform_logits``): the box
``[0, 0, w-1, h-1]`` is centred in the input with its longer side spanning it, the rest black; the logits go back
channel by channel with the inverse map (``cv2.warpAffine``, linear, border 0).
"""

from __future__ import annotations

import cv2
import numpy as np

from posewarp.errors import PosewarpError


def letterbox_affine(height: int, width: int, size: int) -> tuple[np.ndarray, np.ndarray]:
    """The 2x3 affine maps image -> ``size`` x ``size`` network input and back.

    SCHP's box is ``[0, 0, w-1, h-1]``: its centre ``((w-1)/2, (h-1)/2)`` goes to ``((size-1)/2, (size-1)/2)``
    and the longer side ``max(w-1, h-1)`` to ``size-1`` pixels; a third point at a right angle fixes the map.
    Points are float32 like SCHP's and ``cv2.getAffineTransform`` solves the map (forward and inverse).
    """
    if height < 1 or width < 1:
        raise PosewarpError(f"empty image ({height}x{width})")
    center = np.array([(width - 1) * 0.5, (height - 1) * 0.5], np.float32)
    extent = np.float32(max(width - 1, height - 1, 1))  # a 1-pixel image has no extent; keep the map finite
    half = (size - 1) * 0.5
    src = np.stack([center, center + np.array([0, -extent * 0.5], np.float32), np.zeros(2, np.float32)])
    dst = np.array([[half, half], [half, 0.0], [0.0, 0.0]], np.float32)
    src[2] = _right_angle(src[0], src[1])
    dst[2] = _right_angle(dst[0], dst[1])
    return cv2.getAffineTransform(src, dst), cv2.getAffineTransform(dst, src)


def _right_angle(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``b`` plus ``a - b`` turned by 90 degrees."""
    d = a - b
    return b + np.array([-d[1], d[0]], np.float32)


def letterbox(bgr: np.ndarray, forward: np.ndarray, size: int) -> np.ndarray:
    """Warp an ``(H, W, 3)`` uint8 image into the ``size`` x ``size`` input; outside the image is black."""
    return cv2.warpAffine(
        bgr, forward, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0)
    )


def unletterbox(logits: np.ndarray, inverse: np.ndarray, height: int, width: int) -> np.ndarray:
    """Warp ``(size, size, C)`` float32 logits back to ``(height, width, C)``, channel by channel, border 0.

    OpenCV gives identical numbers for 1, 3 or 4 channels at a time (not for 2 or more than 4), so the channels
    go in groups of 4 and any remainder one by one.
    """
    out = []
    for start in range(0, logits.shape[2], 4):
        chunk = logits[:, :, start : start + 4]
        groups = [chunk] if chunk.shape[2] in (3, 4) else [chunk[:, :, i] for i in range(chunk.shape[2])]
        for g in groups:
            warped = cv2.warpAffine(
                np.ascontiguousarray(g), inverse, (width, height), flags=cv2.INTER_LINEAR,
                borderMode=cv2.BORDER_CONSTANT, borderValue=0,
            )  # fmt: skip
            out.append(warped.reshape(height, width, -1))
    return np.concatenate(out, axis=2)
