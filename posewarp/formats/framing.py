"""Where in a photo of any size a network trained at ``(H, W)`` works, and how its result goes back into the photo.

A network sees people at the aspect ratio it was trained at. :func:`frame_person` picks a region of the photo of
that aspect, as large as the photo allows and centred on the person (the foreground of the parsing and the
visible keypoints); only when the person does not fit such a region does it grow beyond the photo (the rest is
padded white). The region is scaled to the network's size with one :class:`~posewarp.formats.geometry.Fit`
(the same transform for image, labels and keypoints), and :meth:`Framing.composite` puts the network's output
back over that region of the full-size photo, so the result has the photo's resolution. A photo of the network's
own size is used as it is.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from posewarp.formats.geometry import Fit

MARGIN = 0.05  # of the person's box, added on each side so that hands and feet are not cut at the border


@dataclass(frozen=True)
class Framing:
    photo_size: tuple[int, int]  # (H, W) of the photo
    model_size: tuple[int, int]  # (H, W) the network works at
    region: tuple[float, float, float, float]  # x0, y0, width, height in photo pixels (may reach beyond it)
    fit: Fit  # photo -> network input

    @property
    def identity(self) -> bool:
        return self.photo_size == self.model_size and self.region == (0.0, 0.0, *map(float, self.photo_size[::-1]))

    def describe(self) -> str | None:
        """One line saying what was done to the photo (None when nothing was)."""
        if self.identity:
            return None
        (h, w), (mh, mw) = self.photo_size, self.model_size
        x0, y0, rw, rh = self.region
        steps = []
        if (round(rw), round(rh)) != (w, h):
            steps.append(f"cropped to {round(rh)}x{round(rw)} at x={round(x0)}, y={round(y0)} around the person")
        pad = [max(0.0, -x0), max(0.0, -y0), max(0.0, x0 + rw - w), max(0.0, y0 + rh - h)]
        sides = [f"{round(p)} px {side}" for p, side in zip(pad, ("left", "top", "right", "bottom")) if p >= 0.5]
        if sides:
            steps.append("padded white by " + ", ".join(sides))
        steps.append(f"scaled by {self.fit.scale_x:.3g} to {mh}x{mw}")
        return (f"the {h}x{w} (HxW) source is fitted to the network's trained {mh}x{mw}: {'; '.join(steps)}; the "
                f"result is composited back over that region, at {h}x{w}")  # fmt: skip

    def composite(self, photo: np.ndarray, result: np.ndarray) -> np.ndarray:
        """The photo with the region replaced by ``result`` (the network's ``(mh, mw, 3)`` output)."""
        if self.identity:
            return result
        (h, w), (mh, mw) = self.photo_size, self.model_size
        m = self.fit.matrix()  # photo -> network pixels: with WARP_INVERSE_MAP, each photo pixel samples the result
        back = cv2.warpAffine(result, m, (w, h), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                              borderMode=cv2.BORDER_REPLICATE)  # fmt: skip
        u = np.arange(w) * m[0, 0] + m[0, 2]  # where each photo column and row fall in the network's pixels
        v = np.arange(h) * m[1, 1] + m[1, 2]
        cover = ((v >= -0.5) & (v <= mh - 0.5))[:, None] & ((u >= -0.5) & (u <= mw - 0.5))[None, :]
        out = photo.copy()
        out[cover] = back[cover]
        return out


def person_box(labels: np.ndarray, keypoints: np.ndarray) -> tuple[float, float, float, float] | None:
    """``(x0, y0, x1, y1)`` around the parsing's foreground and the visible keypoints (None if there is neither)."""
    xs, ys = [], []
    fg = np.nonzero(labels)
    if len(fg[0]):
        ys += [fg[0].min(), fg[0].max() + 1]
        xs += [fg[1].min(), fg[1].max() + 1]
    seen = keypoints[keypoints[:, 2] > 0]
    if len(seen):
        xs += [seen[:, 0].min(), seen[:, 0].max() + 1]
        ys += [seen[:, 1].min(), seen[:, 1].max() + 1]
    if not xs:
        return None
    return float(min(xs)), float(min(ys)), float(max(xs)), float(max(ys))


def frame_person(photo_size: tuple[int, int], model_size: tuple[int, int], labels: np.ndarray,
                 keypoints: np.ndarray) -> Framing:
    """The region of the photo the network works on (see the module docstring)."""
    (h, w), (mh, mw) = tuple(map(int, photo_size)), tuple(map(int, model_size))
    aspect = mh / mw  # height / width
    if (h, w) == (mh, mw):
        return Framing((h, w), (mh, mw), (0.0, 0.0, float(w), float(h)), Fit.between((h, w), (mh, mw), "resize"))
    box = person_box(labels, keypoints) or (0.0, 0.0, float(w), float(h))
    bw, bh = box[2] - box[0], box[3] - box[1]
    box = (box[0] - MARGIN * bw, box[1] - MARGIN * bh, box[2] + MARGIN * bw, box[3] + MARGIN * bh)
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    rw, rh = (float(w), w * aspect) if w * aspect <= h else (h / aspect, float(h))  # the largest inside the photo
    need_h = max(box[3] - box[1], (box[2] - box[0]) * aspect)
    if need_h > rh:  # the person does not fit: the smallest region that holds them, partly beyond the photo
        rw, rh = need_h / aspect, need_h
    x0 = _place(cx - rw / 2, rw, w)
    y0 = _place(cy - rh / 2, rh, h)
    if abs(rw - w) < 1e-6 and abs(rh - h) < 1e-6:
        x0 = y0 = 0.0
    scale = mh / rh
    fit = Fit((h, w), (mh, mw), scale, scale, -x0 * scale, -y0 * scale)
    return Framing((h, w), (mh, mw), (x0, y0, rw, rh), fit)


def _place(start: float, size: float, limit: int) -> float:
    """A start that keeps ``[start, start + size)`` inside ``[0, limit)`` when it fits, else centred on it."""
    if size >= limit:
        return (limit - size) / 2
    return min(max(start, 0.0), limit - size)
