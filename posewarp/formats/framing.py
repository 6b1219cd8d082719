"""Where in a photo of any size a network trained at ``(H, W)`` works, and how its result goes back into the photo.

A network sees people at the aspect ratio it was trained at. :func:`frame_person` picks a region of the photo of
that aspect, as large as the photo allows and centred on the person (the foreground of the parsing and the
visible keypoints); only when the person does not fit such a region does it grow beyond the photo (the rest is
padded white). The region is scaled to the network's size with one :class:`~posewarp.formats.geometry.Fit`
(the same transform for image, labels and keypoints), and :meth:`Framing.composite` puts the generated person
(the predicted parsing's foreground, with a soft edge) back into the full-size photo, whose source person is
first filled in from the background around it, so the result has the photo's resolution and background. A photo
of the network's own size is used as it is.
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
                f"generated person is composited back into the {h}x{w} image")  # fmt: skip

    def composite(self, photo: np.ndarray, result: np.ndarray, target_labels: np.ndarray | None = None,
                  source_labels: np.ndarray | None = None) -> np.ndarray:
        """The photo with the network's ``(mh, mw, 3)`` output put back over the region.

        With the labels (``target_labels``: the predicted parsing in the network's frame; ``source_labels``: the
        source's parsing in the photo's), only the generated person is put back, with a soft edge, over the photo
        whose source person is filled in from the background around it; without them the whole region is."""
        if self.identity:
            return result
        (h, w), (mh, mw) = self.photo_size, self.model_size
        m = self.fit.matrix()  # photo -> network pixels: with WARP_INVERSE_MAP, each photo pixel samples the result
        back = cv2.warpAffine(result, m, (w, h), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                              borderMode=cv2.BORDER_REPLICATE)  # fmt: skip
        u = np.arange(w) * m[0, 0] + m[0, 2]  # where each photo column and row fall in the network's pixels
        v = np.arange(h) * m[1, 1] + m[1, 2]
        cover = ((v >= -0.5) & (v <= mh - 0.5))[:, None] & ((u >= -0.5) & (u <= mw - 0.5))[None, :]
        if target_labels is None or source_labels is None:
            out = photo.copy()
            out[cover] = back[cover]
            return out
        edge = max(1, round(1 / self.fit.scale_x))  # one network pixel, in photo pixels
        person = cv2.warpAffine((target_labels > 0).astype(np.float32), m, (w, h),
                                flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderValue=0.0)  # fmt: skip
        alpha = cv2.GaussianBlur(cv2.dilate(person, np.ones((2 * edge + 1,) * 2, np.uint8)), (0, 0), edge)
        alpha = np.clip(alpha, 0.0, 1.0) * cover
        gone = cv2.dilate((source_labels > 0).astype(np.uint8), np.ones((2 * edge + 1,) * 2, np.uint8)) > 0
        base = fill_background(photo, gone)
        mixed = base.astype(np.float32) * (1 - alpha[..., None]) + back.astype(np.float32) * alpha[..., None]
        return np.clip(np.round(mixed), 0, 255).astype(np.uint8)


FILL_SIDE = 1024  # the background fill runs at most at this size (a 12-megapixel photo would take seconds)


def fill_background(photo: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """``photo`` with the ``mask`` pixels filled from their surroundings (OpenCV's Telea inpainting), so that the
    source person does not show through where the generated person does not cover it."""
    if not mask.any():
        return photo
    ys, xs = np.nonzero(mask)
    pad = 16
    y0, y1, x0, x1 = max(0, ys.min() - pad), min(mask.shape[0], ys.max() + pad + 1), max(0, xs.min() - pad), \
        min(mask.shape[1], xs.max() + pad + 1)  # fmt: skip
    crop, hole = photo[y0:y1, x0:x1], mask[y0:y1, x0:x1].astype(np.uint8)
    shrink = min(1.0, FILL_SIDE / max(crop.shape[:2]))
    if shrink < 1:
        small = (max(1, round(crop.shape[1] * shrink)), max(1, round(crop.shape[0] * shrink)))
        filled = cv2.inpaint(cv2.resize(crop, small, interpolation=cv2.INTER_AREA),
                             cv2.resize(hole, small, interpolation=cv2.INTER_NEAREST), 3, cv2.INPAINT_TELEA)  # fmt: skip
        filled = cv2.resize(filled, crop.shape[1::-1], interpolation=cv2.INTER_LINEAR)
    else:
        filled = cv2.inpaint(crop, hole, 3, cv2.INPAINT_TELEA)
    out = photo.copy()
    region = out[y0:y1, x0:x1]
    region[hole > 0] = filled[hole > 0]
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
