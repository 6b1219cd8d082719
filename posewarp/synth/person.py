"""Render one synthetic person: RGB image, exact 20-class parsing and the 18 OpenPose keypoints.

``render(identity, pose, size=(H, W), seed=S)`` is what ``generate`` writes for ``id<identity>_pose<pose>``;
an ``Identity`` and a ``Pose`` object can be passed instead of indices to render hand-made cases.
A keypoint gets confidence 0 when the view hides it (far ear, face seen from the back) or when another
part covers its pixel; every visible keypoint lies on a pixel labelled with its own part (``KEYPOINT_LABELS``).
"""

from __future__ import annotations

import functools

import numpy as np

from posewarp.formats.keypoints import NUM_KEYPOINTS
from posewarp.synth import head as head_mod
from posewarp.synth.appearance import Background, Identity, sample_identity
from posewarp.synth.body import ARM, DRESS, LEG, PANTS, SHOE, SKIRT, TORSO_LEVELS, UPPER, Body, torso_outline
from posewarp.synth.shapes import Canvas, background_image
from posewarp.synth.skeleton import HEAD_A, HEAD_B, THIGH, Pose, build_skeleton, sample_pose

# Parsing labels a visible keypoint may sit on (posewarp.formats.parsing ids).
KEYPOINT_LABELS: tuple[frozenset[int], ...] = tuple(
    frozenset(s)
    for s in (
        {13}, {5, 6, 13, 2, 10, 14, 15},  # nose, neck (under the near arm's shoulder in a side view)
        {15, 5, 6}, {15, 5, 6}, {15},  # right shoulder, elbow, wrist
        {14, 5, 6}, {14, 5, 6}, {14},  # left shoulder, elbow, wrist
        {17, 5, 6, 9, 12}, {17, 9, 12, 6}, {17, 19},  # right hip, knee, ankle
        {16, 5, 6, 9, 12}, {16, 9, 12, 6}, {16, 18},  # left hip, knee, ankle
        {13, 4}, {13, 4}, {13}, {13},  # eyes, ears
    )
)  # fmt: skip

_BODY_KEYS = (None, "neck", "shoulder_r", "elbow_r", "wrist_r", "shoulder_l", "elbow_l", "wrist_l",
              "hip_r", "knee_r", "ankle_r", "hip_l", "knee_l", "ankle_l")  # fmt: skip
_FACE_KEYS = {0: "nose", 14: "eye_r", 15: "eye_l", 16: "ear_r", 17: "ear_l"}


@functools.lru_cache(maxsize=64)
def world_identity(seed: int, identity: int) -> Identity:
    """Identity number ``identity`` of the world ``seed`` (cached: all its poses share it)."""
    return sample_identity(identity_rng(seed, identity))


def identity_rng(seed: int, identity: int) -> np.random.Generator:
    return np.random.default_rng([int(seed), int(identity), 1])


def pose_rng(seed: int, identity: int, pose: int) -> np.random.Generator:
    return np.random.default_rng([int(seed), int(identity), int(pose), 2])


def _frame(sk, pose: Pose, hat: bool, size: tuple[int, int], zoom: float = 1.0) -> tuple[np.ndarray, float]:
    """Scale and origin that fit the whole person in the frame with the pose's fill and shift; ``zoom`` > 1
    then enlarges the person about the top centre of the head (a close-up that cuts the legs off)."""
    h, w = size
    pts = np.array([p[:2] for k, p in sk.joints.items() if k not in ("head", "neck_base")])
    lo, hi = pts.min(0) - 0.045, pts.max(0) + 0.045
    c = sk.joints["head"][:2]
    reach = np.array([HEAD_A * (1.8 if hat else 1.2), HEAD_B * 1.2])
    lo, hi = np.minimum(lo, c - reach), np.maximum(hi, c + reach)
    bw, bh = hi - lo
    scale = min(pose.fill * h / bh, 0.96 * w / bw)
    free = np.array([w - scale * bw, h - scale * bh])
    origin = -0.5 + free * (0.5 + 0.45 * np.asarray(pose.shift)) - scale * lo
    if zoom != 1.0:
        anchor = np.array([(lo[0] + hi[0]) / 2, lo[1]])
        origin = origin + scale * anchor - zoom * scale * anchor
        origin[1] = max(float(origin[1] + zoom * scale * anchor[1]), 0.02 * h) - zoom * scale * anchor[1]
        scale *= zoom
    return origin, float(scale)


CLOTH = 0.0005  # a garment sits just above the skin of its own segment


def _segment_z(base: float, mean: float, p: np.ndarray, q: np.ndarray) -> float:
    """Depth of one segment of a limb: the limb's ``base`` depth (the limb stays one unit against the
    torso), nudged by the segment's own depth so a hand held toward the camera covers its sleeve."""
    return base + 0.1 * (float(p[2] + q[2]) / 2 - mean)


def _add_torso_and_limbs(body: Body) -> None:
    sk, ident = body.sk, body.id
    j = sk.joints
    skin = np.asarray(ident.skin, np.float32)
    top_label = DRESS if ident.garment == "dress" else UPPER
    torso_z = float(j["neck"][2] + j["pelvis"][2]) / 2

    # lower garment at the pelvis: a pants/shorts block, or a skirt / the dress's skirt over both legs
    pelvis = body.xy(j["pelvis"])
    neck = body.xy(j["neck"])
    waist_pts, _, _ = torso_outline(body, ((0.85, 0.112, 0.078),), ident.build * 1.05)
    waist_l, waist_r = waist_pts[0], waist_pts[1]
    if ident.garment == "dress" or ident.lower == "skirt":
        knees = [body.xy(j[f"knee_{s}"]) for s in "rl"]
        hips = [body.xy(j[f"hip_{s}"]) for s in "rl"]
        leg_axis = (knees[0] + knees[1] - hips[0] - hips[1]) / 2
        n = leg_axis / (float(np.hypot(*leg_axis)) or 1e-6)
        perp = np.array([n[1], -n[0]], np.float32)
        reach = (0.03 + ident.hem * THIGH) * body.s
        hem_c = pelvis + n * reach
        t = min(ident.hem, 1.0)
        spread = [abs(float((h + (k - h) * t - hem_c) @ perp)) for h, k in zip(hips, knees)]
        # wide enough at the hips to cover the tops of both thighs, flaring toward the hem
        hip_c = (hips[0] + hips[1]) / 2
        hip_half = max(
            float(np.hypot(*(waist_r - waist_l))) / 2 * 1.08,
            max(abs(float((h - hip_c) @ perp)) for h in hips) + 0.068 * body.s,
        )
        half = max(hip_half * 1.12, max(spread) + 0.06 * body.s)
        pts = np.array(
            [waist_l, hip_c - perp * hip_half, hem_c - perp * half,
             hem_c + perp * half, hip_c + perp * hip_half, waist_r],
            np.float32,
        )  # fmt: skip
        legs_z = max(float(j[f"hip_{s}"][2] + j[f"knee_{s}"][2] + j[f"ankle_{s}"][2]) / 3 for s in "rl")
        m = ident.top if ident.garment == "dress" else ident.bottom
        label = DRESS if ident.garment == "dress" else SKIRT
        body.sheet(pts, label, m, legs_z + 0.03, neck, pelvis)
    else:
        crotch = body.xy(j["pelvis"] + np.array([0.0, 0.075, 0.0]))
        hip_a, hip_b = sorted((body.xy(j[f"hip_{s}"]) for s in "rl"), key=lambda p: float(p[0]))
        out, down = np.array([0.055 * body.s, 0.0], np.float32), np.array([0.0, 0.04 * body.s], np.float32)
        pts = np.array([waist_l, hip_a - out + down, crotch, hip_b + out + down, waist_r], np.float32)
        body.sheet(pts, PANTS, ident.bottom, float(j["pelvis"][2]) + 0.001, neck, pelvis)

    # torso garment
    outline, top, bottom = torso_outline(body, TORSO_LEVELS, ident.build * 1.05)
    body.sheet(outline, top_label, ident.top, torso_z + 0.002, top, bottom, widths=(0.125 * ident.build, 0.08),
               garment_sides=True)

    # neck
    head_base = j["head"] + np.array([0.0, HEAD_B * 0.7, 0.0])
    body.limb(j["neck"], head_base, 0.028, 0.026, 13, skin * 0.93, z=float(j["neck"][2]) - 0.02)

    for s in "rl":
        sh, el, wr, hand = j[f"shoulder_{s}"], j[f"elbow_{s}"], j[f"wrist_{s}"], j[f"hand_{s}"]
        # one depth for the whole arm (in front of the torso it touches), clothes just above its skin
        mean = float(sh[2] + el[2] + wr[2]) / 3
        z_up, z_fore, z_hand = (_segment_z(mean + 0.05, mean, p, q) for p, q in ((sh, el), (el, wr), (wr, hand)))
        body.limb(sh, el, 0.036, 0.029, ARM[s], skin, z=z_up)
        body.limb(el, wr, 0.029, 0.022, ARM[s], skin, z=z_fore)
        body.limb(wr, wr + (hand - wr) * 0.72, 0.024, 0.02, ARM[s], skin, z=z_hand)
        sleeves = ident.sleeves if ident.garment != "dress" else ("short" if ident.sleeves == "long" else "none")
        if sleeves == "short":
            body.limb(sh, el, 0.044, 0.039, top_label, ident.top, z=z_up + CLOTH, cut=0.55)
        elif sleeves == "long":
            body.limb(sh, el, 0.044, 0.036, top_label, ident.top, z=z_up + CLOTH)
            body.limb(el, wr, 0.036, 0.03, top_label, ident.top, z=z_fore + CLOTH, cut=0.85, u0=0.165)

    for s in "rl":
        hip, knee, ankle = j[f"hip_{s}"], j[f"knee_{s}"], j[f"ankle_{s}"]
        heel, toe = j[f"heel_{s}"], j[f"toe_{s}"]
        mean = float(hip[2] + knee[2] + ankle[2]) / 3
        z_thigh, z_shin, z_foot = (_segment_z(mean, mean, p, q) for p, q in ((hip, knee), (knee, ankle), (heel, toe)))
        body.limb(hip, knee, 0.058, 0.042, LEG[s], skin, z=z_thigh, flat_start=True)
        body.limb(knee, ankle, 0.042, 0.03, LEG[s], skin, z=z_shin)
        if ident.garment != "dress" and ident.lower == "pants":
            body.limb(hip, knee, 0.066, 0.05, PANTS, ident.bottom, z=z_thigh + CLOTH, flat_start=True)
            body.limb(knee, ankle, 0.05, 0.04, PANTS, ident.bottom, z=z_shin + CLOTH, cut=0.88, u0=THIGH)
        elif ident.garment != "dress" and ident.lower == "shorts":
            body.limb(hip, knee, 0.066, 0.05, PANTS, ident.bottom, z=z_thigh + CLOTH, cut=0.55, flat_start=True)
        body.limb(heel, toe, 0.03, 0.026, SHOE[s], ident.shoes, z=z_foot + 0.01)


def _keypoints(body: Body, labels: np.ndarray) -> np.ndarray:
    sk = body.sk
    kp = np.zeros((NUM_KEYPOINTS, 3), np.float32)
    for i, key in enumerate(_BODY_KEYS):
        if key is not None:
            kp[i] = (*body.xy(sk.joints[key]), 1.0)
    seen, pts = head_mod.visible(body), head_mod.face_points(body)
    for i, key in _FACE_KEYS.items():
        kp[i] = (*body.xy(pts[key]), 1.0 if seen[key] else 0.0)
    h, w = labels.shape
    for i in range(NUM_KEYPOINTS):
        x, y = int(round(float(kp[i, 0]))), int(round(float(kp[i, 1])))
        if kp[i, 2] > 0 and not (0 <= x < w and 0 <= y < h and int(labels[y, x]) in KEYPOINT_LABELS[i]):
            kp[i, 2] = 0.0
    kp[kp[:, 2] == 0] = 0.0
    return kp


def render(
    identity: int | Identity,
    pose: int | Pose,
    *,
    size: tuple[int, int] = (256, 176),
    seed: int = 0,
    identity_index: int | None = None,
    background: Background | None = None,
    zoom: float = 1.0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One person in one pose: ``(rgb uint8 (H, W, 3), labels uint8 (H, W), keypoints float32 (18, 3))``.

    ``identity`` and ``pose`` are indices into the world of ``seed`` (the same picture ``generate``
    writes as ``id<identity>_pose<pose>``) or explicit ``Identity`` / ``Pose`` objects. A pose index
    needs the identity index (given as ``identity`` or ``identity_index``) to find its random stream.
    ``background`` replaces the identity's backdrop; ``zoom`` > 1 frames a close-up (``_frame``).
    """
    h, w = int(size[0]), int(size[1])
    if h < 1 or w < 1:
        raise ValueError(f"size must be positive, got {h}x{w}")
    if isinstance(identity, Identity):
        ident = identity
    else:
        identity_index = int(identity)
        ident = world_identity(int(seed), identity_index)
    if not isinstance(pose, Pose):
        pose = sample_pose(pose_rng(seed, identity_index or 0, int(pose)))
    sk = build_skeleton(pose, ident.build)
    origin, scale = _frame(sk, pose, ident.hat is not None, (h, w), zoom)
    body = Body(sk, ident, origin, scale)
    _add_torso_and_limbs(body)
    head_mod.add_head(body)
    backdrop = ident.background if background is None else background
    canvas = Canvas(background_image(backdrop, h, w))
    if backdrop.kind == "plain":
        _floor_shadow(canvas, body)
    for _, _, draw in sorted(body.parts, key=lambda p: (p[0], p[1])):
        draw(canvas)
    return canvas.image(), canvas.labels, _keypoints(body, canvas.labels)


def _floor_shadow(canvas: Canvas, body: Body) -> None:
    """A soft shadow under the feet on studio backgrounds (background pixels, label 0)."""
    feet = np.array([body.xy(body.sk.joints[k]) for k in ("heel_r", "heel_l", "toe_r", "toe_l")])
    cx, cy = feet[:, 0].mean(), feet[:, 1].max() + 0.02 * body.s
    rx, ry = max(float(np.ptp(feet[:, 0])) / 2 + 0.08 * body.s, 2.0), 0.025 * body.s + 1.0
    win = canvas.window(np.array([cx - rx, cy - ry]), np.array([cx + rx, cy + ry]))
    if win is None:
        return
    sl, xs, ys = win
    k = np.clip(1.0 - ((xs - cx) / rx) ** 2 - ((ys - cy) / ry) ** 2, 0.0, 1.0)
    canvas.rgb[sl] *= (1.0 - 0.25 * k)[..., None]
