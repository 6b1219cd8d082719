"""SSIM as the pose-transfer papers computed it (reference/ecosystem.md section 1, paper.md 4.1).

Wang et al.'s SSIM with the window, covariance and ``data_range`` choices of scikit-image's
``compare_ssim`` / ``structural_similarity``, reimplemented with scipy so that scikit-image is not a
runtime dependency. The variants that matter:

* ``skimage0.14-gauss-sigma1.5`` (PG2/PATN/Def-GAN as run: PATN's ``requirements_tf.txt`` pins
  scikit-image 0.14.2): ``compare_ssim(gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
  multichannel=True, data_range=generated.max() - generated.min())`` on uint8 values. That version
  filtered with scipy's default ``truncate=4.0`` (a 13-tap Gaussian) but cropped the border of an
  11-pixel window (5 pixels); 0.15 changed the filter to ``truncate=3.5`` (11 taps).
* ``wang-gauss-sigma1.5``: the same call on scikit-image >= 0.15 (``structural_similarity``), 11 taps,
  crop 5 (the ``patn-modern`` protocol, and GFLA's ``ssim_256``).
* ``gfla-uniform-win51`` (GFLA/PIDM "ssim"): a uniform 51x51 window, sample covariance, ``data_range`` 1
  on float32 images divided by 255.

Per channel: local statistics with reflected borders, the SSIM map, its border of
``(win_size - 1) // 2`` pixels cropped, the mean; then the mean over channels.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import gaussian_filter, uniform_filter

K1 = 0.01
K2 = 0.03


@dataclass(frozen=True)
class SSIMVariant:
    """One way of computing SSIM; ``name`` is what the JSON output reports."""

    name: str
    gaussian: bool = True
    sigma: float = 1.5
    truncate: float = 3.5
    win_size: int | None = None  # None: 2 * int(truncate * sigma + 0.5) + 1 for Gaussian weights
    sample_covariance: bool = False
    data_range: str | float = "generated"  # "generated" = generated image's max - min, or a number
    scale: float = 1.0  # images are divided by this in float32 before SSIM (255 for GFLA's imread / 255.0)

    @property
    def window(self) -> int:
        if self.win_size is not None:
            return self.win_size
        return 2 * int(self.truncate * self.sigma + 0.5) + 1 if self.gaussian else 7


WANG_GAUSS = SSIMVariant(name="wang-gauss-sigma1.5")
SKIMAGE_014 = SSIMVariant(name="skimage0.14-gauss-sigma1.5", truncate=4.0, win_size=11)  # 13 taps, crop 5
GFLA_WIN51 = SSIMVariant(
    name="gfla-uniform-win51", gaussian=False, win_size=51, sample_covariance=True, data_range=1.0, scale=255.0
)


def _filter(x: np.ndarray, variant: SSIMVariant) -> np.ndarray:
    if variant.gaussian:
        return gaussian_filter(x, sigma=(variant.sigma, variant.sigma, 0), mode="reflect", truncate=variant.truncate)
    return uniform_filter(x, size=(variant.window, variant.window, 1), mode="reflect")


def ssim(generated: np.ndarray, reference: np.ndarray, variant: SSIMVariant = WANG_GAUSS) -> float:
    """Mean SSIM of two ``(H, W, 3)`` (or ``(H, W)``) images, e.g. uint8 RGB.

    ``data_range="generated"`` follows PATN (``generated.max() - generated.min()``, after any
    padding); a flat generated image would make it 0, so it is then taken as 1.
    """
    x = np.asarray(generated, dtype=np.float64)
    y = np.asarray(reference, dtype=np.float64)
    if x.shape != y.shape:
        raise ValueError(f"SSIM needs images of one shape, got {x.shape} and {y.shape}")
    if x.ndim == 2:
        x, y = x[..., None], y[..., None]
    if x.ndim != 3:
        raise ValueError(f"SSIM expects (H, W) or (H, W, C) images, got shape {x.shape}")
    win = variant.window
    if min(x.shape[:2]) < win:
        raise ValueError(f"image {x.shape[:2]} is smaller than the {win}x{win} SSIM window")
    if variant.scale != 1.0:  # as GFLA: float32 images divided by 255.0, widened to float64 by scikit-image
        x = (x.astype(np.float32) / np.float32(variant.scale)).astype(np.float64)
        y = (y.astype(np.float32) / np.float32(variant.scale)).astype(np.float64)
    if variant.data_range == "generated":
        data_range = float(x.max() - x.min()) or 1.0
    else:
        data_range = float(variant.data_range)

    cov_norm = win * win / (win * win - 1.0) if variant.sample_covariance else 1.0
    ux, uy = _filter(x, variant), _filter(y, variant)
    uxx, uyy, uxy = _filter(x * x, variant), _filter(y * y, variant), _filter(x * y, variant)
    vx = cov_norm * (uxx - ux * ux)
    vy = cov_norm * (uyy - uy * uy)
    vxy = cov_norm * (uxy - ux * uy)
    c1, c2 = (K1 * data_range) ** 2, (K2 * data_range) ** 2
    s = ((2 * ux * uy + c1) * (2 * vxy + c2)) / ((ux * ux + uy * uy + c1) * (vx + vy + c2))
    pad = (win - 1) // 2
    cropped = s[pad : s.shape[0] - pad, pad : s.shape[1] - pad]
    return float(np.mean([cropped[..., c].mean(dtype=np.float64) for c in range(cropped.shape[-1])]))


def pad_width(image: np.ndarray, bound: int = 40, value: int = 255) -> np.ndarray:
    """PATN's ``addBounding``: ``bound`` columns of white on the left and right (256x176 -> 256x256)."""
    image = np.asarray(image)
    widths = [(0, 0), (bound, bound)] + [(0, 0)] * (image.ndim - 2)
    return np.pad(image, widths, mode="constant", constant_values=value)
