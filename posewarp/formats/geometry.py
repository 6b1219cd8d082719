"""One resize/crop/pad transform applied alike to an image, its label map and its keypoints.

``Fit.between((256, 256), (256, 176), "crop")`` is the DeepFashion centre crop used by PATN:
scale 1, x shifted by -40. Pixel centres sit at integer coordinates; a point maps as
``x' = (x + 0.5) * sx - 0.5 + dx`` so that scaling keeps pixel centres aligned.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from posewarp.errors import PosewarpError

FIT_MODES = ("crop", "pad", "resize")


@dataclass(frozen=True)
class Fit:
    src_size: tuple[int, int]  # (H, W)
    out_size: tuple[int, int]  # (H, W)
    scale_x: float
    scale_y: float
    offset_x: float  # in output pixels, after scaling
    offset_y: float

    @classmethod
    def between(cls, src_size: tuple[int, int], out_size: tuple[int, int], mode: str = "crop") -> "Fit":
        """``crop``: scale to cover and centre-crop; ``pad``: scale to fit and centre-pad; ``resize``: stretch."""
        (h, w), (oh, ow) = src_size, out_size
        if min(h, w, oh, ow) <= 0:
            raise PosewarpError(f"sizes must be positive, got {src_size} -> {out_size}")
        if mode == "resize":
            return cls(src_size, out_size, ow / w, oh / h, 0.0, 0.0)
        if mode not in FIT_MODES:
            raise PosewarpError(f"unknown fit mode {mode!r}; use one of {', '.join(FIT_MODES)}")
        s = max(oh / h, ow / w) if mode == "crop" else min(oh / h, ow / w)
        return cls(src_size, out_size, s, s, (ow - w * s) / 2, (oh - h * s) / 2)

    def matrix(self) -> np.ndarray:
        """The 2x3 affine matrix from source to output pixel coordinates."""
        sx, sy = self.scale_x, self.scale_y
        return np.array(
            [[sx, 0.0, 0.5 * sx - 0.5 + self.offset_x], [0.0, sy, 0.5 * sy - 0.5 + self.offset_y]], np.float64
        )

    def keypoints(self, kp: np.ndarray) -> np.ndarray:
        """Transform ``(..., 18, 3)`` keypoints; points that leave the frame become missing."""
        kp = np.asarray(kp, np.float32).copy()
        m = self.matrix()
        x = kp[..., 0] * m[0, 0] + m[0, 2]
        y = kp[..., 1] * m[1, 1] + m[1, 2]
        oh, ow = self.out_size
        keep = (kp[..., 2] > 0) & (x > -0.5) & (x < ow - 0.5) & (y > -0.5) & (y < oh - 0.5)
        kp[..., 0] = np.where(keep, x, 0.0)
        kp[..., 1] = np.where(keep, y, 0.0)
        kp[..., 2] = np.where(keep, kp[..., 2], 0.0)
        return kp

    def image(self, img: np.ndarray, border: int | tuple[int, ...] = 255) -> np.ndarray:
        """Transform an ``(H, W, C)`` image (area filter when shrinking, cubic when enlarging)."""
        shrink = min(self.scale_x, self.scale_y) < 1
        return self._warp(img, cv2.INTER_AREA if shrink else cv2.INTER_CUBIC, border)

    def labels(self, labels: np.ndarray) -> np.ndarray:
        """Transform an ``(H, W)`` label map with nearest-neighbour sampling (background 0 outside)."""
        return self._warp(labels, cv2.INTER_NEAREST, 0)

    def _warp(self, arr: np.ndarray, interpolation: int, border) -> np.ndarray:
        if arr.shape[:2] != tuple(self.src_size):
            raise PosewarpError(f"array of size {arr.shape[:2]} does not match the fit source {self.src_size}")
        oh, ow = self.out_size
        if self.scale_x == 1 and self.scale_y == 1 and float(self.offset_x).is_integer() and float(self.offset_y).is_integer():
            return _shift(arr, int(self.offset_x), int(self.offset_y), (oh, ow), border)
        if interpolation == cv2.INTER_AREA and self.offset_x == 0 and self.offset_y == 0:
            return cv2.resize(arr, (ow, oh), interpolation=cv2.INTER_AREA)
        if interpolation == cv2.INTER_AREA:
            interpolation = cv2.INTER_LINEAR
        if not isinstance(border, int):
            border = tuple(border)
        elif arr.ndim == 3:
            border = (border,) * arr.shape[2]
        return cv2.warpAffine(
            arr, self.matrix(), (ow, oh), flags=interpolation, borderMode=cv2.BORDER_CONSTANT, borderValue=border
        )


def _shift(arr: np.ndarray, dx: int, dy: int, out_size: tuple[int, int], border) -> np.ndarray:
    """Exact integer crop/pad without resampling."""
    oh, ow = out_size
    out = np.empty((oh, ow) + arr.shape[2:], arr.dtype)
    out[...] = border
    h, w = arr.shape[:2]
    x0, y0 = max(0, dx), max(0, dy)
    x1, y1 = min(ow, w + dx), min(oh, h + dy)
    if x1 > x0 and y1 > y0:
        out[y0:y1, x0:x1] = arr[y0 - dy : y1 - dy, x0 - dx : x1 - dx]
    return out
