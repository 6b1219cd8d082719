"""Pictures for people: skeleton overlays in OpenPose colours, colour parsing maps and result grids."""

from __future__ import annotations

import cv2
import numpy as np

from posewarp.formats import parsing
from posewarp.formats.keypoints import LIMBS, NUM_KEYPOINTS, check_shape

# OpenPose's 18 rainbow colours (keypoint i and limb i share colour i).
COLORS = np.array(
    [
        (255, 0, 0), (255, 85, 0), (255, 170, 0), (255, 255, 0), (170, 255, 0), (85, 255, 0), (0, 255, 0),
        (0, 255, 85), (0, 255, 170), (0, 255, 255), (0, 170, 255), (0, 85, 255), (0, 0, 255), (85, 0, 255),
        (170, 0, 255), (255, 0, 255), (255, 0, 170), (255, 0, 85),
    ],
    np.uint8,
)  # fmt: skip


def skeleton(image: np.ndarray, kp: np.ndarray, thickness: int | None = None) -> np.ndarray:
    """Draw one ``(18, 3)`` or several ``(P, 18, 3)`` skeletons on a copy of an RGB uint8 image."""
    people = check_shape(kp)
    if people.ndim == 2:
        people = people[None]
    canvas = np.ascontiguousarray(image.copy())
    h, w = canvas.shape[:2]
    t = thickness or max(1, round(min(h, w) / 64))
    for person in people:
        for i, (a, b) in enumerate(LIMBS[:17]):
            if person[a, 2] > 0 and person[b, 2] > 0:
                pa = (int(round(person[a, 0])), int(round(person[a, 1])))
                pb = (int(round(person[b, 0])), int(round(person[b, 1])))
                cv2.line(canvas, pa, pb, COLORS[i].tolist(), t, cv2.LINE_AA)
        for i in range(NUM_KEYPOINTS):
            if person[i, 2] > 0:
                center = (int(round(person[i, 0])), int(round(person[i, 1])))
                cv2.circle(canvas, center, t + 1, COLORS[i].tolist(), -1, cv2.LINE_AA)
    return canvas


def pose_picture(kp: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """A skeleton on black, the usual way to show a target pose."""
    return skeleton(np.zeros((*size, 3), np.uint8), kp)


def parsing_picture(labels: np.ndarray) -> np.ndarray:
    """Colour picture of a label map."""
    return parsing.colorize(labels)


def overlay(image: np.ndarray, labels: np.ndarray, alpha: float = 0.5) -> np.ndarray:
    """Blend the colour parsing over the image (background left untouched)."""
    colour = parsing.colorize(labels).astype(np.float32)
    out = image.astype(np.float32)
    fg = (np.asarray(labels) > 0)[..., None]
    out = np.where(fg, (1 - alpha) * out + alpha * colour, out)
    return out.round().astype(np.uint8)


def grid(rows: list[list[np.ndarray]], titles: list[str] | None = None, pad: int = 2) -> np.ndarray:
    """Tile RGB uint8 images (all the same size) into a grid, with optional column titles on top."""
    if not rows or not rows[0]:
        raise ValueError("grid needs at least one image")
    h, w = rows[0][0].shape[:2]
    cols = max(len(r) for r in rows)
    title_h = 14 if titles else 0
    out = np.full((title_h + len(rows) * (h + pad) + pad, cols * (w + pad) + pad, 3), 255, np.uint8)
    for j, title in enumerate(titles or []):
        width = cv2.getTextSize(title, cv2.FONT_HERSHEY_PLAIN, 1.0, 1)[0][0]
        scale = min(0.8, w / max(width, 1))  # shrink long titles to the column width
        cv2.putText(out, title, (pad + j * (w + pad), 11), cv2.FONT_HERSHEY_PLAIN, scale, (0, 0, 0), 1, cv2.LINE_AA)
    for i, row in enumerate(rows):
        for j, img in enumerate(row):
            img = img if img.ndim == 3 else np.repeat(img[..., None], 3, axis=2)
            if img.shape[:2] != (h, w):
                img = cv2.resize(img, (w, h), interpolation=cv2.INTER_NEAREST)
            y, x = title_h + pad + i * (h + pad), pad + j * (w + pad)
            out[y : y + h, x : x + w] = img
    return out
