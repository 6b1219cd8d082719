"""Signed-distance shapes painted back to front: an exact label per pixel and anti-aliased colour.

Every shape is a signed distance ``d`` in pixels (negative inside) over a small window of the frame.
A pixel takes the shape's label when its centre is inside (``d <= 0``); its colour is blended with
coverage ``clip(0.5 - d, 0, 1)``, so the label map is exact and the image edges are smooth, and the
two agree: the label is the topmost shape covering at least half of the pixel.
Pixel centres sit at integer coordinates (as in ``formats.keypoints.flip``).
"""

from __future__ import annotations

import functools

import numpy as np

from posewarp.synth.appearance import Background, Material


def clip(x, lo: float, hi: float):
    """``np.clip`` without its wrapper overhead (this module paints many tiny windows)."""
    return np.minimum(np.maximum(x, lo), hi)


class Canvas:
    """An RGB float image and its label map, painted by shapes in depth order."""

    def __init__(self, background: np.ndarray):
        self.rgb = np.ascontiguousarray(background, dtype=np.float32)
        self.h, self.w = self.rgb.shape[:2]
        self.labels = np.zeros((self.h, self.w), np.uint8)
        self._xs = np.arange(self.w, dtype=np.float32)[None, :]
        self._ys = np.arange(self.h, dtype=np.float32)[:, None]

    def window(self, lo: np.ndarray, hi: np.ndarray):
        """Pixel grids ``(X, Y)`` and slices of the frame inside a box (None when it misses the frame)."""
        x0, y0 = max(int(np.floor(lo[0])) - 1, 0), max(int(np.floor(lo[1])) - 1, 0)
        x1, y1 = min(int(np.ceil(hi[0])) + 2, self.w), min(int(np.ceil(hi[1])) + 2, self.h)
        if x1 <= x0 or y1 <= y0:
            return None
        return (slice(y0, y1), slice(x0, x1)), self._xs[:, x0:x1], self._ys[y0:y1]

    def paint(self, sl, d: np.ndarray, label, colour: np.ndarray) -> None:
        """Blend ``colour`` by coverage and set ``label`` (an id or a per-pixel array) where ``d <= 0``."""
        alpha = clip(0.5 - d, 0.0, 1.0)
        region = self.rgb[sl]
        region += (colour - region) * alpha[..., None]
        inside = d <= 0
        lab = self.labels[sl]
        if np.ndim(label) == 0:
            lab[inside] = label
        else:
            lab[inside] = np.broadcast_to(label, inside.shape)[inside]

    def image(self) -> np.ndarray:
        return np.clip(self.rgb + 0.5, 0, 255).astype(np.uint8)


# --- distances ---------------------------------------------------------------------------------


def capsule(xs, ys, a, b, ra: float, rb: float):
    """Tapered capsule from ``a`` (radius ``ra``) to ``b`` (``rb``): distance, along (px), across (px)."""
    ax, ay = float(a[0]), float(a[1])
    abx, aby = float(b[0]) - ax, float(b[1]) - ay
    length = (abx * abx + aby * aby) ** 0.5 or 1e-6
    ux, uy = abx / length, aby / length
    px, py = xs - ax, ys - ay  # (1, w) and (h, 1): broadcast only when combined
    along = px * ux + py * uy
    across = px * uy - py * ux
    t = clip(along * (1.0 / length), 0.0, 1.0)
    r = ra + (rb - ra) * t
    d = np.hypot(px - t * abx, py - t * aby) - r
    return d, along, across, r


def capsule_box(a, b, ra: float, rb: float):
    r = max(ra, rb)
    return np.minimum(a, b) - r, np.maximum(a, b) + r


def ellipse(xs, ys, c, rx: float, ry: float, angle: float = 0.0):
    """Approximate signed distance to a rotated ellipse (exact on the axes, good near the edge)."""
    ca, sa = np.cos(angle), np.sin(angle)
    dx, dy = xs - c[0], ys - c[1]
    ex = (dx * ca + dy * sa) / rx
    ey = (-dx * sa + dy * ca) / ry
    k = np.hypot(ex, ey)
    grad = np.hypot(ex / rx, ey / ry) / np.maximum(k, 1e-6)
    return (k - 1.0) / np.maximum(grad, 1e-6), ex, ey


def polygon(xs, ys, pts: np.ndarray):
    """Signed distance to a simple polygon (any shape; even-odd rule for the inside)."""
    a = np.asarray(pts, np.float32)
    e = np.roll(a, -1, axis=0) - a  # edge vectors
    ax, ay = a[:, 0, None, None], a[:, 1, None, None]
    ex, ey = e[:, 0, None, None], e[:, 1, None, None]
    wx, wy = xs[None] - ax, ys[None] - ay  # (n, 1, w) and (n, h, 1)
    t = clip((wx * ex + wy * ey) / np.maximum(ex * ex + ey * ey, 1e-9), 0.0, 1.0)
    d = np.sqrt(((wx - t * ex) ** 2 + (wy - t * ey) ** 2).min(0))
    # even-odd rule: count the edges a ray toward +x crosses
    by = ay + ey
    safe_ey = np.where(ey == 0, 1e-9, ey)
    crosses = ((ay > ys[None]) != (by > ys[None])) & (xs[None] < ax + (ys[None] - ay) * ex / safe_ey)
    inside = (crosses.sum(0) % 2).astype(bool)
    return np.where(inside, -d, d)


# --- patterns ----------------------------------------------------------------------------------


def _square(x: np.ndarray, soft: float) -> np.ndarray:
    """A square wave in [0, 1] of period 1 with edges blurred over ``soft`` periods."""
    tri = np.abs(np.mod(x, 1.0) - 0.5) * 2.0
    return clip((tri - 0.5) / max(soft * 2.0, 1e-3) + 0.5, 0.0, 1.0)


def material_colour(m: Material, u: np.ndarray, v: np.ndarray, px: float, span: float = 1.0) -> np.ndarray:
    """Colour of ``m`` at surface coordinates ``u`` (along the part) and ``v`` (around it), body units.

    ``px`` is the size of one pixel in body units (for anti-aliasing); ``span`` the part's length (gradient).
    """
    base, accent = np.asarray(m.base, np.float32), np.asarray(m.accent, np.float32)
    if m.pattern == "plain":
        return base
    soft = px / m.period
    if m.pattern == "stripes":
        w = _square(u / m.period, soft)
    elif m.pattern == "vstripes":
        w = _square(v / m.period, soft)
    elif m.pattern == "checks":
        a, b = _square(u / m.period, soft), _square(v / m.period, soft)
        w = a + b - 2 * a * b
    elif m.pattern == "dots":
        fu = np.mod(u / m.period, 1.0) - 0.5
        fv = np.mod(v / m.period + 0.5 * np.floor(u / m.period), 1.0) - 0.5
        w = clip((0.28 - np.hypot(fu, fv)) / max(soft, 1e-3) + 0.5, 0.0, 1.0)
    elif m.pattern == "gradient":
        w = clip(u / max(span, 1e-6), 0.0, 1.0)
    else:
        raise ValueError(f"unknown pattern {m.pattern!r}")
    return base + (accent - base) * w[..., None].astype(np.float32)


def logo_coverage(kind: str, x: np.ndarray, y: np.ndarray, px: float, size: float = 0.04) -> np.ndarray:
    """Coverage in [0, 1] of a chest logo centred at (0, 0) in body units."""
    if kind == "circle":
        d = np.hypot(x, y) - size
    elif kind == "ring":
        d = np.abs(np.hypot(x, y) - size * 0.8) - size * 0.25
    elif kind == "diamond":
        d = (np.abs(x) + np.abs(y)) - size * 1.1
    else:  # bar
        d = np.maximum(np.abs(x) - size * 1.3, np.abs(y) - size * 0.4)
    return clip(0.5 - d / px, 0.0, 1.0)


def background_image(bg: Background, h: int, w: int) -> np.ndarray:
    """The identity's backdrop at ``h`` x ``w`` (a fresh float32 array the caller may paint on)."""
    return _background(bg, h, w).copy()


@functools.lru_cache(maxsize=4)
def _background(bg: Background, h: int, w: int) -> np.ndarray:
    """A studio gradient or a street of boxes over a ground; cached, as all poses of an identity share it."""
    ys = (np.arange(h, dtype=np.float32) + 0.5) / h
    top, bottom = np.asarray(bg.top, np.float32), np.asarray(bg.bottom, np.float32)
    if bg.kind == "plain":
        col = top + (bottom - top) * ys[:, None]
        return np.repeat(col[:, None, :], w, axis=1)
    img = np.empty((h, w, 3), np.float32)
    img[:] = top
    horizon = int(round(bg.horizon * h))
    for x0, y0, x1, y1, colour in bg.boxes:
        r0, r1 = int(round(y0 * h)), min(int(round(y1 * h)), horizon)
        c0, c1 = max(int(round(x0 * w)), 0), min(int(round(x1 * w)), w)
        if r1 > max(r0, 0) and c1 > c0:
            img[max(r0, 0) : r1, c0:c1] = colour
            # a darker frame line makes the boxes read as windows / shop fronts
            img[max(r0, 0) : r1, c0 : min(c0 + max(1, w // 80), c1)] *= 0.7
    fade = np.linspace(1.0, 0.8, max(h - horizon, 1), dtype=np.float32)[:, None, None]
    img[horizon:] = bottom * fade[: h - horizon]
    return img
