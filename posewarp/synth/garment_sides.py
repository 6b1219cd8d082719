"""Details of a top garment that only one side shows: what a front view cannot tell about the back.

Painted in the torso garment's surface coordinates (``Body.sheet``): ``x_front`` / ``x_back`` are the
distances around the body from the centre front / centre back (body units, signed), ``along`` the distance
down from the shoulder line, ``facing`` how much the surface faces the camera's side of the front
(``sin`` of the angle around the body: 1 at the centre front, -1 at the centre back).
"""

from __future__ import annotations

import numpy as np

from posewarp.synth.appearance import GarmentSides
from posewarp.synth.shapes import clip
from posewarp.synth.skeleton import TORSO


def _band(d: np.ndarray, px: float) -> np.ndarray:
    """Coverage of the region ``d <= 0`` (``d`` a signed distance in body units), anti-aliased over a pixel."""
    return clip(0.5 - d / px, 0.0, 1.0)


def _box(x: np.ndarray, y: np.ndarray, x0: float, x1: float, y0: float, y1: float) -> np.ndarray:
    return np.maximum(np.maximum(x0 - x, x - x1), np.maximum(y0 - y, y - y1))


def front_coverage(kind: str, x: np.ndarray, along: np.ndarray, px: float) -> np.ndarray:
    """Coverage in [0, 1] of one front detail."""
    if kind == "placket":  # a button strip with buttons every 0.05
        strip = _band(np.abs(x) - 0.008, px) * (along > 0.02)
        buttons = _band(np.hypot(x, np.mod(along - 0.045, 0.05) - 0.025) - 0.007, px) * (along > 0.03)
        return np.maximum(0.5 * strip, buttons)
    if kind == "zip":
        return _band(np.abs(x) - max(0.004, px / 2), px) * (along > 0.0)
    if kind == "pocket":  # on the person's left chest (image right in a front view)
        return _band(_box(x, along, 0.025, 0.07, 0.07, 0.12), px)
    if kind == "collar":  # a V of contrasting collar at the neck
        return _band(np.maximum(np.abs(x) * 0.9 + along - 0.075, -along - 0.02), px) * _band(0.012 - np.abs(x), px * 4)
    raise ValueError(f"unknown front detail {kind!r}")


def back_coverage(kind: str, x: np.ndarray, along: np.ndarray, px: float) -> np.ndarray:
    """Coverage in [0, 1] of one back detail."""
    if kind == "print":  # a large ring and bar across the upper back
        ring = _band(np.abs(np.hypot(x, along - 0.3 * TORSO) - 0.05) - 0.012, px)
        bar = _band(_box(x, along, -0.08, 0.08, 0.2 * TORSO - 0.01, 0.2 * TORSO + 0.01), px)
        return np.maximum(ring, bar)
    if kind == "yoke":  # a band across the shoulders
        return _band(_box(x, along, -1.0, 1.0, -1.0, 0.07), px)
    if kind == "panel":  # a wide panel down the centre back
        return _band(np.abs(x) - 0.045, px) * (along > 0.02)
    raise ValueError(f"unknown back detail {kind!r}")


def paint_sides(rgb: np.ndarray, sides: GarmentSides, x_front, x_back, along, facing, px: float) -> np.ndarray:
    """``rgb (h, w, 3)`` with the garment's front details where it faces front and back ones where it faces back."""
    out = np.array(np.broadcast_to(rgb, (*np.shape(along), 3)), dtype=np.float32)
    show_front = clip((facing - 0.25) * 4.0, 0.0, 1.0)
    show_back = clip((-facing - 0.25) * 4.0, 0.0, 1.0)
    for kind in sides.front:
        cov = front_coverage(kind, x_front, along, px) * show_front
        out += (np.asarray(sides.colour, np.float32) - out) * cov[..., None]
    if sides.back is not None:
        cov = back_coverage(sides.back, x_back, along, px) * show_back
        out += (np.asarray(sides.back_colour, np.float32) - out) * cov[..., None]
    return out
