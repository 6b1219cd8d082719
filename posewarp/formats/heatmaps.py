"""Pose heatmaps: 18-channel disks (the paper's input), Gaussians (PATN) and the PG2/PATN pose mask.

Every function takes keypoints ``(..., 18, 3)`` as a numpy array or a torch tensor and returns the
same kind (torch keeps the device). Pixel ``(row i, column j)`` has its centre at ``(x=j, y=i)``;
a missing keypoint (confidence 0) gives an all-zero channel.
"""

from __future__ import annotations

import math

import cv2
import numpy as np
import torch
import torch.nn.functional as F

# Limbs of the PG2/PATN pose mask (0-based): the decoder's limbs plus hip-hip, hip-shoulder and ear-ear spans.
MASK_LIMBS = (
    (1, 2), (1, 5), (2, 3), (3, 4), (5, 6), (6, 7), (1, 8), (8, 9), (9, 10), (1, 11), (11, 12), (12, 13),
    (1, 0), (0, 14), (14, 16), (0, 15), (15, 17), (1, 16), (1, 17), (8, 11), (11, 5), (8, 2), (16, 17),
)  # fmt: skip


def _as_tensor(kp) -> tuple[torch.Tensor, bool]:
    if isinstance(kp, torch.Tensor):
        return kp.float(), False
    return torch.as_tensor(np.asarray(kp, np.float32)), True


def _grid(size: tuple[int, int], device) -> tuple[torch.Tensor, torch.Tensor]:
    h, w = size
    ys = torch.arange(h, device=device, dtype=torch.float32).view(h, 1)
    xs = torch.arange(w, device=device, dtype=torch.float32).view(1, w)
    return ys, xs


def _sq_dist(kp: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    ys, xs = _grid(size, kp.device)
    x = kp[..., 0, None, None]
    y = kp[..., 1, None, None]
    return (xs - x) ** 2 + (ys - y) ** 2  # (..., 18, H, W)


def _out(t: torch.Tensor, to_numpy: bool):
    return t.numpy() if to_numpy else t


# One person on the CPU (a data-loader sample): evaluate the same float32 formulas only in the box each
# disk or limb band can reach instead of over the whole image; identical result, ~20x faster.


def _box(x0: float, x1: float, y0: float, y1: float, reach: float, size: tuple[int, int]):
    h, w = size
    c0, c1 = max(0, math.floor(x0 - reach)), min(w, math.floor(x1 + reach) + 1)
    r0, r1 = max(0, math.floor(y0 - reach)), min(h, math.floor(y1 + reach) + 1)
    if c0 >= c1 or r0 >= r1:
        return None
    ys = np.arange(r0, r1, dtype=np.float32).reshape(-1, 1)
    xs = np.arange(c0, c1, dtype=np.float32).reshape(1, -1)
    return (slice(r0, r1), slice(c0, c1)), ys, xs


def _disks_local(kp: np.ndarray, size: tuple[int, int], radius: float) -> torch.Tensor:
    out = torch.zeros((kp.shape[0], *size))
    maps = out.numpy()
    r2 = np.float32(radius * radius)
    for i, (x, y, c) in enumerate(kp):
        box = _box(x, x, y, y, radius, size) if c > 0 else None
        if box is not None:
            (rows, cols), ys, xs = box
            maps[i, rows, cols] = (xs - x) ** 2 + (ys - y) ** 2 <= r2
    return out


def _bands_local(kp: np.ndarray, size: tuple[int, int], radius: float) -> np.ndarray:
    mask = np.zeros(size, bool)
    r2 = np.float32(radius * radius)
    for ia, ib in MASK_LIMBS:
        if not (kp[ia, 2] > 0 and kp[ib, 2] > 0):
            continue
        a, b = kp[ia, :2], kp[ib, :2]
        box = _box(min(a[0], b[0]), max(a[0], b[0]), min(a[1], b[1]), max(a[1], b[1]), radius, size)
        if box is None:
            continue
        (rows, cols), ys, xs = box
        ab = b - a
        length2 = max((ab**2).sum(dtype=np.float32), np.float32(1e-6))
        px, py = xs - a[0], ys - a[1]
        u = np.clip((px * ab[0] + py * ab[1]) / length2, 0, 1)
        dx, dy = px - u * ab[0], py - u * ab[1]
        mask[rows, cols] |= (dx**2 + dy**2) <= r2
    return mask


def _mask_local(kp: np.ndarray, size: tuple[int, int], radius: float, close: int) -> torch.Tensor:
    mask = (_disks_local(kp, size, radius).numpy().any(0) | _bands_local(kp, size, radius)).astype(np.uint8)
    kernel = np.ones((close, close), np.uint8)
    mask = cv2.dilate(mask, kernel, borderType=cv2.BORDER_REPLICATE)
    mask = cv2.erode(mask, kernel, borderType=cv2.BORDER_REPLICATE)
    return torch.from_numpy(mask.astype(np.float32))


def pose_disks(kp, size: tuple[int, int], radius: float = 4.0):
    """``(..., 18, H, W)`` float32: 1 inside a disk of ``radius`` px around each present keypoint.

    A radius-4 disk at an integer position covers 49 pixels; disks are clipped at the border.
    """
    t, to_numpy = _as_tensor(kp)
    if t.ndim == 2 and t.device.type == "cpu":
        return _out(_disks_local(t.numpy(), size, radius), to_numpy)
    present = (t[..., 2] > 0)[..., None, None]
    maps = (_sq_dist(t, size) <= radius * radius) & present
    return _out(maps.float(), to_numpy)


def pose_mask(kp, size: tuple[int, int], radius: float = 4.0, close: int = 5):
    """``(..., H, W)`` float32 PG2/PATN pose mask: limb bands and joint disks of ``radius``, then a
    ``close`` x ``close`` dilation followed by an erosion (a morphological closing)."""
    t, to_numpy = _as_tensor(kp)
    if t.ndim == 2 and t.device.type == "cpu" and close % 2 == 1:
        return _out(_mask_local(t.numpy(), size, radius, close), to_numpy)
    ys, xs = _grid(size, t.device)
    present = t[..., 2] > 0
    mask = ((_sq_dist(t, size) <= radius * radius) & present[..., None, None]).any(-3)
    a_idx = torch.tensor([a for a, _ in MASK_LIMBS], device=t.device)
    b_idx = torch.tensor([b for _, b in MASK_LIMBS], device=t.device)
    a, b = t[..., a_idx, :2], t[..., b_idx, :2]  # (..., L, 2)
    both = (present[..., a_idx] & present[..., b_idx])[..., None, None]
    ab = b - a
    length2 = (ab**2).sum(-1).clamp_min(1e-6)[..., None, None]
    px = xs - a[..., 0, None, None]
    py = ys - a[..., 1, None, None]
    u = ((px * ab[..., 0, None, None] + py * ab[..., 1, None, None]) / length2).clamp(0, 1)
    dx = px - u * ab[..., 0, None, None]
    dy = py - u * ab[..., 1, None, None]
    bands = ((dx**2 + dy**2) <= radius * radius) & both
    mask = (mask | bands.any(-3)).float()
    return _out(_closing(mask, close), to_numpy)


def _closing(mask: torch.Tensor, close: int) -> torch.Tensor:
    """A ``close`` x ``close`` dilation then erosion of ``(..., H, W)`` binary maps (replicated borders)."""
    h, w = mask.shape[-2:]
    flat = mask.reshape(-1, 1, h, w)
    pad = close // 2
    dilated = F.max_pool2d(F.pad(flat, (pad,) * 4, mode="replicate"), close, stride=1)
    eroded = -F.max_pool2d(F.pad(-dilated, (pad,) * 4, mode="replicate"), close, stride=1)
    return eroded.reshape(mask.shape)
