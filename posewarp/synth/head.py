"""The head: a yawed ellipsoid whose every pixel is mapped back onto the 3-D surface.

From a pixel inside the projected ellipse we recover the visible surface point in the head's own
frame (left, up, forward) and decide there what it shows: hair behind a hairline, a hat crown,
sunglasses over the eyes, the face elsewhere. So a side view shows hair at the back, a back view
shows only hair, and the face features turn with the head. Eyes, nose and ears that face away from
the camera are not drawn, and their keypoints get confidence 0.
"""

from __future__ import annotations

import math

import numpy as np

from posewarp.synth.body import EYE, FACE, HAIR, HAT, NOSE, SUNGLASSES, Body
from posewarp.synth.shapes import Canvas, clip, ellipse
from posewarp.synth.skeleton import HEAD_A, HEAD_B

EAR = (1.0, 0.0, 0.0)
HAT_LINE = 0.38  # head-frame "up" above which a hat covers the head
GLASSES = np.array((24, 24, 32), np.float32)


def _smoothstep(lo: float, hi: float, x):
    t = clip((x - lo) / (hi - lo), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


# Hairlines: the hair covers the head where "up" exceeds a height that falls from the forehead
# (front, f > 0) to the nape (back, f < 0); (nape height, forehead height, back end, front end of the fall).
HAIRLINES = {
    "short": (-0.35, 0.4, -0.45, 0.15),
    "long": (-1.0, 0.42, -0.3, 0.2),
    "bun": (-0.2, 0.45, -0.45, 0.15),
    "buzz": (-0.25, 0.55, -0.5, 0.1),
}


def hair_mask(style: str, l, u, f):
    nape, forehead, back, front = HAIRLINES[style]
    mask = u > nape + (forehead - nape) * _smoothstep(back, front, f)
    if style == "long":  # hair framing the face down to the jaw
        mask |= (np.abs(l) > 0.78) & (u > -0.5) & (f < 0.3)
    return mask


def visible(body: Body) -> dict[str, bool]:
    """Which face points look toward the camera (the far ear in a side view does not)."""
    sk = body.sk
    return {
        "nose": sk.facing(NOSE[0], NOSE[1], NOSE[2]) > -0.05,
        "eye_r": sk.facing(-EYE[0], EYE[1], EYE[2]) > 0.2,
        "eye_l": sk.facing(EYE[0], EYE[1], EYE[2]) > 0.2,
        "ear_r": sk.facing(-1.0, 0.0, 0.0) > -0.3,
        "ear_l": sk.facing(1.0, 0.0, 0.0) > -0.3,
    }


def face_points(body: Body) -> dict[str, np.ndarray]:
    """3-D positions of the nose, eyes and ears (slightly inside the silhouette)."""
    sk = body.sk
    return {
        "nose": sk.head_point(*NOSE, k=0.97),
        "eye_r": sk.head_point(-EYE[0], EYE[1], EYE[2], k=0.95),
        "eye_l": sk.head_point(EYE[0], EYE[1], EYE[2], k=0.95),
        "ear_r": sk.head_point(-EAR[0], 0.0, 0.0, k=0.92),
        "ear_l": sk.head_point(EAR[0], 0.0, 0.0, k=0.92),
    }


def add_head(body: Body) -> None:
    sk, ident, s = body.sk, body.id, body.s
    head = sk.joints["head"]
    z0 = float(head[2])
    fz = math.cos(sk.head_yaw)  # camera-facing part of the head's forward axis
    fwd3 = np.array([math.sin(sk.head_yaw), 0.0, math.cos(sk.head_yaw)])
    down = np.array([0.0, 1.0, 0.0])
    skin = np.asarray(ident.skin, np.float32)
    hair = np.asarray(ident.hair_colour, np.float32)

    # hair volume behind the head, and long hair hanging down the back
    if ident.hair_style != "buzz":
        c = head - fwd3 * HEAD_A * 0.1 - down * HEAD_B * 0.06
        low = {"long": 0.55, "bun": -0.1}.get(ident.hair_style, -0.15)
        clip_row = float(body.xy(head + down * HEAD_B * low)[1])
        body.blob(c, HEAD_A * 1.14, HEAD_B * 1.08, HAIR, hair, z0 - 0.002, clip_y=clip_row)
    if ident.hair_style == "long":
        a3 = head - fwd3 * HEAD_A * 0.4
        b3 = head + down * HEAD_B * 2.6 - fwd3 * HEAD_A * 0.55
        body.limb(a3, b3, HEAD_A * 1.02, HEAD_A * 0.85, HAIR, hair, z=z0 - 0.06 * fz + 0.003)
    if ident.hair_style == "bun":
        body.blob(sk.head_point(0.0, 0.55, -0.95), 0.03, 0.028, HAIR, hair, z0 - 0.05 * fz)

    centre = body.xy(head)
    rx, ry = HEAD_A * s, HEAD_B * s
    cy, sy = math.cos(sk.head_yaw), math.sin(sk.head_yaw)

    def draw(cv: Canvas) -> None:
        win = cv.window(centre - (rx, ry), centre + (rx, ry))
        if win is None:
            return
        sl, xs, ys = win
        d, nx, ny = ellipse(xs, ys, centre, rx, ry)
        nz = np.sqrt(clip(1.0 - nx * nx - ny * ny, 0.0, 1.0))
        lat, up, fw = nx * cy - nz * sy, -ny, nx * sy + nz * cy
        label = np.full(d.shape, FACE, np.uint8)
        rgb = np.broadcast_to(skin, (*d.shape, 3)).copy()
        mouth = (np.abs(up + 0.45) < 0.05) & (np.abs(lat) < 0.2) & (fw > 0.5)
        rgb[mouth] = skin * 0.55 + np.array([60, 0, 0], np.float32)
        h = hair_mask(ident.hair_style, lat, up, fw)
        label[h] = HAIR
        rgb[h] = hair if ident.hair_style != "buzz" else 0.6 * hair + 0.4 * skin
        if ident.sunglasses:
            g = (np.abs(up - EYE[1]) < 0.11) & (fw > 0.35) & (np.abs(lat) < 0.8)
            label[g], rgb[g] = SUNGLASSES, GLASSES
        if ident.hat is not None:
            hat = up > HAT_LINE
            label[hat], rgb[hat] = HAT, ident.hat_colour
        shade = (0.72 + 0.28 * nz)[..., None]
        cv.paint(sl, d, label, rgb * shade)

    body.add(z0, draw)

    # hat crown and brim
    if ident.hat is not None:
        clip_row = float(body.xy(head + down * -HEAD_B * HAT_LINE)[1])
        crown = head - down * HEAD_B * 0.12
        body.blob(crown, HEAD_A * 1.12, HEAD_B * 1.02, HAT, ident.hat_colour, z0 + 0.003, clip_row)
        rim = head - down * HEAD_B * HAT_LINE
        if ident.hat == "cap":
            a3, b3 = rim + fwd3 * HEAD_A * 0.6, rim + fwd3 * HEAD_A * 1.7 + down * HEAD_B * 0.05
        else:
            side = np.array([HEAD_A * 1.7, 0.0, 0.0])
            a3, b3 = rim - side, rim + side
        brim = np.asarray(ident.hat_colour, np.float32) * 0.85
        body.limb(a3, b3, 0.011, 0.011, HAT, brim, z=z0 + 0.004 + (HEAD_A * fz if ident.hat == "cap" else 0.0))

    # ears, nose and eyes: small shapes that also guarantee their keypoint pixel carries the label
    seen, pts = visible(body), face_points(body)
    for name in ("ear_r", "ear_l"):
        if seen[name]:
            body.blob(pts[name], 0.014, 0.02, FACE, skin * 0.95, z0 + 0.005)
    if seen["nose"]:
        body.blob(pts["nose"], 0.012, 0.013, FACE, skin * 0.9, z0 + 0.005)
    eye_r = max(0.008, 0.9 / s)
    for name in ("eye_r", "eye_l"):
        if seen[name]:
            label, colour = (SUNGLASSES, GLASSES * 1.6) if ident.sunglasses else (FACE, (35, 28, 28))
            body.blob(pts[name], eye_r, eye_r, label, colour, z0 + 0.006)
