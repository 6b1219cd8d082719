"""What a camera and a room do to a rendered person: light, shadow, folds, a bag, exposure, noise, JPEG.

Each function takes the float RGB image (0-255, ``(H, W, 3)``) and the exact label map of one photo and a
random stream of that photo, so two photos of one person differ in everything the pose does not decide.
None of these effects follows the body: a model that only moves source pixels cannot reproduce them.
"""

from __future__ import annotations

from typing import NamedTuple

import cv2
import numpy as np

GARMENTS = (5, 6, 7, 9, 12)  # upper-clothes, dress, coat, pants, skirt


def _smooth_field(rng: np.random.Generator, shape: tuple[int, int], cells: tuple[int, int]) -> np.ndarray:
    """A smooth random field in about [-1, 1] at ``shape`` from ``cells`` (rows, cols) random values."""
    coarse = rng.uniform(-1.0, 1.0, size=(cells[0] + 1, cells[1] + 1)).astype(np.float32)
    return cv2.resize(coarse, (shape[1], shape[0]), interpolation=cv2.INTER_CUBIC)


def folds(rgb: np.ndarray, labels: np.ndarray, rng: np.random.Generator, depth: float) -> None:
    """Darken garments along mostly vertical folds that change from photo to photo (in place)."""
    h, w = labels.shape
    field = _smooth_field(rng, (h, w), (3, max(4, w // 6)))
    cloth = np.isin(labels, GARMENTS)
    rgb[cloth] *= (1.0 - 0.14 * depth * np.abs(field[cloth]))[:, None]


class Light(NamedTuple):
    """One photo's light and camera: the light's direction (radians, image frame) and strength, how far its
    shadow falls (in image heights), the exposure and the white balance (per-channel gains)."""

    angle: float
    strength: float
    throw: float
    exposure: float
    balance: tuple[float, float, float]


def sample_light(rng: np.random.Generator, strength: float) -> Light:
    """A light and camera for a shoot or a photo (``strength`` 0 leaves the picture as rendered)."""
    return Light(float(rng.uniform(0, 2 * np.pi)), float(strength * rng.uniform(0.3, 1.0)), float(rng.uniform(0.04, 0.12)),
                 float(rng.uniform(1.0 - 0.15 * strength, 1.0 + 0.1 * strength)),
                 tuple(float(v) for v in 1.0 + strength * rng.uniform(-0.04, 0.04, size=3)))  # type: ignore[arg-type]


def jitter(base: Light, rng: np.random.Generator) -> Light:
    """The same shoot's light for one more photo: the lamp and the camera settings move a little."""
    return base._replace(angle=base.angle + float(rng.uniform(-0.2, 0.2)),
                         exposure=base.exposure * float(rng.uniform(0.97, 1.03)))


def light(rgb: np.ndarray, labels: np.ndarray, lamp: Light) -> None:
    """A directional light: brighter on the lit side of the person, a soft shadow cast on the backdrop (in place)."""
    h, w = labels.shape
    person = labels > 0
    if not person.any() or lamp.strength <= 0:
        return
    direction = np.array([np.cos(lamp.angle), np.sin(lamp.angle)], np.float32)
    ys, xs = np.nonzero(person)
    cx, cy = xs.mean(), ys.mean()
    half = max(np.ptp(xs), np.ptp(ys), 1) / 2
    gx = (np.arange(w, dtype=np.float32) - cx) / half
    gy = (np.arange(h, dtype=np.float32) - cy) / half
    lit = direction[0] * gx[None, :] + direction[1] * gy[:, None]  # -1 away from the light .. 1 toward it
    shadow_shift = -direction * lamp.throw * h  # the shadow falls away from the light
    m = np.float32([[1, 0, shadow_shift[0]], [0, 1, shadow_shift[1]]])
    cast = cv2.warpAffine(person.astype(np.float32), m, (w, h), flags=cv2.INTER_LINEAR, borderValue=0.0)
    blur = max(1, int(h * 0.02)) * 2 + 1
    cast = cv2.GaussianBlur(cast, (blur, blur), 0)
    k = lamp.strength
    shade = np.where(person, 1.0 + 0.25 * k * np.clip(lit, -1, 1), 1.0 - 0.35 * k * cast)
    rgb *= shade[..., None]


def bag(rgb: np.ndarray, labels: np.ndarray, keypoints: np.ndarray, rng: np.random.Generator) -> bool:
    """A bag hanging from a visible wrist, in front of the body; its pixels are background (label 0), as LIP
    parsers leave bags unlabelled. Returns whether one was drawn (in place)."""
    wrists = [i for i in (4, 7) if keypoints[i, 2] > 0]
    if not wrists:
        return False
    wrist = keypoints[wrists[int(rng.integers(len(wrists)))], :2]
    h, w = labels.shape
    bh, bw = h * rng.uniform(0.09, 0.15), h * rng.uniform(0.06, 0.11)
    cx, top = float(wrist[0] + rng.uniform(-0.3, 0.3) * bw), float(wrist[1] - 0.15 * bh)
    xs = np.arange(w, dtype=np.float32)[None, :]
    ys = np.arange(h, dtype=np.float32)[:, None]
    r = 0.25 * min(bw, bh)  # a rounded rectangle: distance to the inner box minus the corner radius
    dx = np.maximum(np.abs(xs - cx) - (bw / 2 - r), 0)
    dy = np.maximum(np.abs(ys - (top + bh / 2)) - (bh / 2 - r), 0)
    d = np.hypot(dx, dy) - r
    alpha = np.clip(0.5 - d, 0, 1)
    if not (alpha > 0.5).any():
        return False
    colour = rng.uniform(20, 230, size=3).astype(np.float32)
    shade = 1.0 - 0.15 * np.clip((ys - top) / bh, 0, 1)
    rgb += (colour * shade[..., None] - rgb) * alpha[..., None]
    labels[d <= 0] = 0
    return True


def camera(rgb: np.ndarray, lamp: Light) -> None:
    """Exposure and white balance of the photo (in place)."""
    rgb *= (lamp.exposure * np.asarray(lamp.balance)).astype(np.float32)


def sensor(rgb: np.ndarray, rng: np.random.Generator, noise: float, jpeg: tuple[int, int] | None) -> np.ndarray:
    """Sensor noise of a random sigma up to ``noise``, then a JPEG round trip of a quality in ``jpeg``: uint8."""
    out = rgb
    if noise > 0:
        out = out + rng.normal(0.0, rng.uniform(0.3, 1.0) * noise, size=out.shape).astype(np.float32)
    img = np.clip(out + 0.5, 0, 255).astype(np.uint8)
    if jpeg is not None:
        quality = int(rng.integers(jpeg[0], jpeg[1] + 1))
        ok, buf = cv2.imencode(".jpg", img[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, quality])
        if not ok:
            raise RuntimeError("OpenCV could not encode a JPEG")
        img = np.ascontiguousarray(cv2.imdecode(buf, cv2.IMREAD_COLOR)[..., ::-1])
    return img
