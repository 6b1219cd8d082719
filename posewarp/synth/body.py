"""The parts of the synthetic person as depth-sorted shapes: skin, clothes, head, hair and accessories.

Labels follow ``posewarp.formats.parsing`` (left/right from the person's own view). Choices:
exposed arm skin and hands are arm labels (14/15), long and short sleeves are upper-clothes (5, as
LIP annotates them; 6 on a dress), the neck is face (13), pants legs are pants (9) down to the
ankle, shoes are 18/19. Depth comes from the 3-D skeleton: a part's z orders it; small biases keep
garments on top of the skin they cover and arms in front of the torso they touch.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from posewarp.synth.appearance import Identity, Material
from posewarp.synth.garment_sides import paint_sides
from posewarp.synth.shapes import Canvas, capsule, capsule_box, clip, ellipse, logo_coverage, material_colour, polygon
from posewarp.synth.skeleton import TORSO, Skeleton

HAT, HAIR, SUNGLASSES, UPPER, DRESS, PANTS, SKIRT, FACE = 1, 2, 4, 5, 6, 9, 12, 13
ARM = {"l": 14, "r": 15}
LEG = {"l": 16, "r": 17}
SHOE = {"l": 18, "r": 19}

# Torso cross-sections: (fraction from the shoulder line to the pelvis, half-width, half-depth).
TORSO_LEVELS = ((-0.03, 0.075, 0.05), (0.1, 0.135, 0.075), (0.35, 0.125, 0.085), (0.7, 0.105, 0.075),
                (1.0, 0.12, 0.08), (1.06, 0.122, 0.08))  # fmt: skip
EYE = (0.38, 0.12, 0.917)  # head-frame unit coordinates (|left|, up, forward)
NOSE = (0.0, -0.12, 0.99)

Part = tuple[float, int, Callable[[Canvas], None]]


class Body:
    """Builds the list of parts for one skeleton, identity and framing (pixels = origin + scale * xy)."""

    def __init__(self, sk: Skeleton, ident: Identity, origin: np.ndarray, scale: float):
        self.sk, self.id, self.origin, self.s = sk, ident, origin, scale
        self.px = 1.0 / scale  # one pixel in body units
        self.parts: list[Part] = []

    def xy(self, p: np.ndarray) -> np.ndarray:
        return (self.origin + self.s * p[:2]).astype(np.float32)

    def add(self, z: float, fn: Callable[[Canvas], None]) -> None:
        self.parts.append((float(z), len(self.parts), fn))

    # --- primitives ---------------------------------------------------------------------------

    def limb(self, a3, b3, ra, rb, label, colour, z: float, cut: float | None = None, u0=0.0, flat_start=False) -> None:
        """A tapered capsule between 3-D points at depth ``z``; ``colour`` is skin (RGB) or a Material.

        ``cut`` ends it flat at that fraction of its length (sleeve and trouser hems); ``flat_start``
        squares off its start (a thigh under the waistband shows no round top)."""
        a, b = self.xy(a3), self.xy(b3)
        ra_px, rb_px = ra * self.s, rb * self.s
        length = float(np.hypot(*(b - a)))
        end = length if cut is None else cut * length
        patterned = isinstance(colour, Material) and colour.pattern != "plain"
        flat = np.asarray(colour.base if isinstance(colour, Material) else colour, np.float32)

        def draw(cv: Canvas) -> None:
            lo, hi = capsule_box(a, b, ra_px, rb_px)
            win = cv.window(lo, hi)
            if win is None:
                return
            sl, xs, ys = win
            d, along, across, r = capsule(xs, ys, a, b, ra_px, rb_px)
            if cut is not None:
                d = np.maximum(d, along - end)
            if flat_start:
                d = np.maximum(d, -along)
            q = clip(across / np.maximum(r, 1e-3), -1.0, 1.0)
            shade = (0.74 + 0.26 * np.sqrt(1.0 - q * q))[..., None]
            if patterned:
                rgb = material_colour(colour, u0 + along * self.px, np.arcsin(q) * r * self.px, self.px, 0.5)
            else:
                rgb = flat
            cv.paint(sl, d, label, rgb * shade)

        self.add(z, draw)

    def blob(self, c3, rx, ry, label, colour, z, clip_y: float | None = None) -> None:
        """An upright ellipse (radii in body units), optionally cut off below the image row ``clip_y``."""
        c = self.xy(c3)
        rx_px, ry_px = rx * self.s, ry * self.s

        def draw(cv: Canvas) -> None:
            win = cv.window(c - (rx_px, ry_px), c + (rx_px, ry_px))
            if win is None:
                return
            sl, xs, ys = win
            d, ex, ey = ellipse(xs, ys, c, rx_px, ry_px)
            if clip_y is not None:
                d = np.maximum(d, ys - clip_y)
            shade = (0.8 + 0.2 * np.sqrt(clip(1 - ex * ex - ey * ey, 0, 1)))[..., None]
            cv.paint(sl, d, label, np.asarray(colour, np.float32) * shade)

        self.add(z, draw)

    def sheet(self, pts2d: np.ndarray, label, m: Material, z, axis_a, axis_b, u0=0.0, widths=None,
              garment_sides: bool = False) -> None:
        """A polygon painted with ``m`` in coordinates along ``axis_a -> axis_b`` (pixels) and around it.

        ``widths`` = (half-width, half-depth) makes the surface a yawed elliptic cylinder: the pattern
        wraps around the body, compresses toward the silhouette and the logo shows only from the front;
        with ``garment_sides`` the identity's front and back details (``garment_sides.py``) are painted too.
        """
        pts = np.asarray(pts2d, np.float32)
        axis = axis_b - axis_a
        length = float(np.hypot(*axis)) or 1e-6
        ux, uy = axis / length
        yaw = self.sk.yaw
        sides = self.id.sides if garment_sides else None

        def draw(cv: Canvas) -> None:
            win = cv.window(pts.min(0), pts.max(0))
            if win is None:
                return
            sl, xs, ys = win
            d = polygon(xs, ys, pts)
            px_, py_ = xs - axis_a[0], ys - axis_a[1]
            along = (px_ * ux + py_ * uy) * self.px
            across = (px_ * uy - py_ * ux) * self.px  # + toward the image right when upright
            shade = 1.0
            front = None
            if widths is not None:
                a, c = widths
                rx, rz = a * math.cos(yaw), c * math.sin(yaw)
                half = math.hypot(rx, rz)
                delta = math.atan2(rz, rx)
                q = clip(across / half, -1.0, 1.0)
                phis = [delta + np.arccos(q), delta - np.arccos(q)]
                zs = [-a * np.cos(p) * math.sin(yaw) + c * np.sin(p) * math.cos(yaw) for p in phis]
                phi = np.where(zs[0] >= zs[1], phis[0], phis[1])
                around = phi * (a + c) / 2
                nz = np.maximum(zs[0], zs[1]) / max(a, c)
                shade = (0.72 + 0.28 * clip(nz, 0, 1))[..., None]
                front = np.sin(phi)
            else:
                around = across
            rgb = material_colour(m, u0 + along, around, self.px, TORSO * 1.6)
            if m.logo is not None and front is not None:
                cov = logo_coverage(m.logo, (phi - math.pi / 2) * (a + c) / 2, along - 0.3 * TORSO, self.px)
                cov = cov * (front > 0.35)
                rgb = rgb + (np.asarray(m.logo_colour, np.float32) - rgb) * cov[..., None]
            if sides is not None and front is not None:
                half_round = (a + c) / 2
                x_front = _wrap(phi - math.pi / 2) * half_round
                x_back = -_wrap(phi + math.pi / 2) * half_round  # + toward the image right in a back view
                rgb = paint_sides(rgb, sides, x_front, x_back, along, front, self.px)
            cv.paint(sl, d, label, rgb * shade)

        self.add(z, draw)


def _wrap(angle):
    """Angles wrapped into [-pi, pi)."""
    return np.mod(angle + math.pi, 2 * math.pi) - math.pi


def torso_outline(body: Body, levels, widths_scale: float, lo: float = -1.0, hi: float = 9.0):
    """Polygon of the torso between fractions ``lo`` and ``hi`` of the shoulder->pelvis axis (pixels)."""
    sk = body.sk
    top, bottom = body.xy(sk.joints["neck"]), body.xy(sk.joints["pelvis"])
    axis = bottom - top
    n = axis / (float(np.hypot(*axis)) or 1e-6)
    perp = np.array([n[1], -n[0]], np.float32)  # toward the image right when upright
    yaw = sk.yaw
    left, right = [], []
    for t, a, c in levels:
        if not lo <= t <= hi:
            continue
        half = math.hypot(a * widths_scale * math.cos(yaw), c * math.sin(yaw)) * body.s
        centre = top + axis * t
        left.append(centre - perp * half)
        right.append(centre + perp * half)
    return np.array(left + right[::-1], np.float32), top, bottom
