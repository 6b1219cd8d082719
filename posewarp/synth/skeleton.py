"""Poses of the synthetic person: joint angles -> 3-D joints -> the 18 OpenPose keypoints in pixels.

The body lives in "body units" (a standing person is about 1.05 tall). Camera frame: x to the image
right, y down, z toward the camera; the projection is orthographic, so z only orders the parts.
``yaw`` turns the whole person about the vertical axis: 0 faces the camera (the person's right is
on the image left, as in OpenPose's R/L), 180 shows the back, +90 faces the image right.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

# Segment lengths (body units).
NECK_DROP = 0.03  # shoulder line below the base of the neck
TORSO = 0.30  # shoulder line to pelvis
SHOULDER = 0.115  # half distance between the shoulder joints
HIP = 0.085
UPPER_ARM, FOREARM, HAND = 0.165, 0.15, 0.07
THIGH, SHIN = 0.245, 0.24
NECK = 0.05  # shoulder line to the bottom of the head
HEAD_A, HEAD_B = 0.056, 0.07  # head half-width/depth and half-height

POSE_KINDS = ("stand", "walk", "arms_up", "arms_out", "hands_on_hips", "arms_bent", "lean")


@dataclass(frozen=True)
class Arm:
    """Shoulder abduction (0 down, 90 sideways, 180 up), flexion (forward swing), elbow bend (degrees)."""

    abduction: float = 10.0
    flexion: float = 0.0
    elbow: float = 10.0
    bend: str = "forward"  # the direction the forearm folds toward: forward | inward | up


@dataclass(frozen=True)
class Leg:
    """Hip abduction and flexion (forward swing), knee bend (degrees), toes turned out (degrees)."""

    abduction: float = 4.0
    flexion: float = 0.0
    knee: float = 3.0
    toe_out: float = 8.0


@dataclass(frozen=True)
class Pose:
    """One sampled pose and framing; ``render`` turns it (with an ``Identity``) into pixels."""

    kind: str = "stand"
    yaw: float = 0.0
    head_yaw: float = 0.0  # relative to the body
    lean_forward: float = 0.0
    lean_side: float = 0.0  # positive leans toward the person's left
    arm_right: Arm = field(default_factory=Arm)
    arm_left: Arm = field(default_factory=Arm)
    leg_right: Leg = field(default_factory=Leg)
    leg_left: Leg = field(default_factory=Leg)
    fill: float = 0.88  # person height / frame height (when the width allows)
    shift: tuple[float, float] = (0.0, 0.0)  # position in the free space, each in [-1, 1]


def _rot_x(deg: float) -> np.ndarray:  # about the lateral axis: positive tips the top forward
    c, s = math.cos(math.radians(deg)), math.sin(math.radians(deg))
    return np.array([[1, 0, 0], [0, c, s], [0, -s, c]])


def _rot_z(deg: float) -> np.ndarray:  # about the forward axis: positive tips the top toward +lateral
    c, s = math.cos(math.radians(deg)), math.sin(math.radians(deg))
    return np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])


def _limb_dirs(side: float, abduction: float, flexion: float, bend: float, bend_to: np.ndarray):
    """Unit vectors (lateral, down, forward) of the upper and lower segment of a limb."""
    a, b = math.radians(abduction), math.radians(flexion)
    upper = np.array([side * math.sin(a), math.cos(a) * math.cos(b), math.cos(a) * math.sin(b)])
    w = bend_to - upper * float(bend_to @ upper)
    n = np.linalg.norm(w)
    w = w / n if n > 1e-6 else np.array([0.0, 0.0, 1.0])
    e = math.radians(bend)
    return upper, math.cos(e) * upper + math.sin(e) * w


@dataclass
class Skeleton:
    """Joints in the camera frame (body units) plus the head's axes; see ``build_skeleton``."""

    joints: dict[str, np.ndarray]
    yaw: float  # radians, body
    head_yaw: float  # radians, absolute
    lateral: np.ndarray  # the body's left direction in the camera frame
    forward: np.ndarray

    def head_point(self, l: float, u: float, f: float, k: float = 1.0) -> np.ndarray:
        """A point on the head ellipsoid from head-frame unit coordinates (left, up, forward)."""
        lat = np.array([math.cos(self.head_yaw), 0.0, -math.sin(self.head_yaw)])
        fwd = np.array([math.sin(self.head_yaw), 0.0, math.cos(self.head_yaw)])
        return self.joints["head"] + k * (HEAD_A * l * lat + np.array([0.0, -HEAD_B * u, 0.0]) + HEAD_A * f * fwd)

    def facing(self, l: float, u: float, f: float) -> float:
        """Camera-facing component (z) of a head-frame direction: > 0 looks toward the camera."""
        return -l * math.sin(self.head_yaw) + f * math.cos(self.head_yaw)


def build_skeleton(pose: Pose, build: float = 1.0) -> Skeleton:
    """3-D joints of ``pose``; ``build`` widens the shoulders and hips (0.9 slim .. 1.1 broad)."""
    j: dict[str, np.ndarray] = {}
    # Body frame: (lateral = person's left, down, forward).
    pelvis = np.zeros(3)
    lean = _rot_z(pose.lean_side) @ _rot_x(pose.lean_forward)
    shoulder_mid = pelvis + lean @ np.array([0.0, -TORSO, 0.0])
    j["pelvis"] = pelvis
    j["neck"] = shoulder_mid
    j["neck_base"] = pelvis + lean @ np.array([0.0, -TORSO - NECK_DROP, 0.0])
    head = shoulder_mid + np.array([0.0, -(NECK + HEAD_B), 0.0])
    j["head"] = head
    for name, side, arm in (("r", -1.0, pose.arm_right), ("l", 1.0, pose.arm_left)):
        shoulder = shoulder_mid + lean @ np.array([side * SHOULDER * build, 0.0, 0.0])
        bend_to = {"forward": (0.0, -0.35, 1.0), "inward": (-side, 0.2, 0.25), "up": (0.0, -1.0, 0.2)}[arm.bend]
        upper, lower = _limb_dirs(side, arm.abduction, arm.flexion, arm.elbow, np.array(bend_to))
        upper, lower = lean @ upper, lean @ lower
        j[f"shoulder_{name}"] = shoulder
        j[f"elbow_{name}"] = shoulder + UPPER_ARM * upper
        j[f"wrist_{name}"] = j[f"elbow_{name}"] + FOREARM * lower
        j[f"hand_{name}"] = j[f"wrist_{name}"] + HAND * lower
    for name, side, leg in (("r", -1.0, pose.leg_right), ("l", 1.0, pose.leg_left)):
        hip = pelvis + np.array([side * HIP * build, 0.02, 0.0])
        upper, lower = _limb_dirs(side, leg.abduction, leg.flexion, leg.knee, np.array([0.0, 0.0, -1.0]))
        j[f"hip_{name}"] = hip
        j[f"knee_{name}"] = hip + THIGH * upper
        ankle = j[f"knee_{name}"] + SHIN * lower
        j[f"ankle_{name}"] = ankle
        t = math.radians(leg.toe_out) * side
        toe_dir = np.array([math.sin(t), 0.0, math.cos(t)])
        j[f"heel_{name}"] = ankle + np.array([0.0, 0.035, 0.0]) - 0.025 * toe_dir
        j[f"toe_{name}"] = ankle + np.array([0.0, 0.045, 0.0]) + 0.105 * toe_dir

    yaw = math.radians(pose.yaw)
    c, s = math.cos(yaw), math.sin(yaw)
    lateral, forward = np.array([c, 0.0, -s]), np.array([s, 0.0, c])
    down = np.array([0.0, 1.0, 0.0])
    cam = {k: v[0] * lateral + v[1] * down + v[2] * forward for k, v in j.items()}
    return Skeleton(cam, yaw, yaw + math.radians(pose.head_yaw), lateral, forward)


def _arm(rng, kind: str) -> Arm:
    u = rng.uniform
    if kind == "down":
        return Arm(u(4, 18), u(-12, 12), u(0, 25), "forward")
    if kind == "up":
        return Arm(u(135, 172), u(-12, 12), u(0, 35), "inward")
    if kind == "out":
        return Arm(u(65, 100), u(-15, 20), u(0, 70), "up")
    if kind == "hip":
        return Arm(u(30, 42), u(-6, 4), u(100, 120), "inward")
    if kind == "bent":
        return Arm(u(8, 22), u(5, 35), u(70, 115), "forward")
    raise ValueError(kind)


KIND_WEIGHTS = np.cumsum([0.2, 0.22, 0.12, 0.1, 0.12, 0.12, 0.12])
VIEW_WEIGHTS = np.cumsum([0.45, 0.2, 0.35])


def _pick(rng: np.random.Generator, cumulative: np.ndarray) -> int:
    """An index drawn with the given cumulative weights (cheaper than ``rng.choice(p=...)``)."""
    return min(int(np.searchsorted(cumulative, rng.uniform() * cumulative[-1], side="right")), len(cumulative) - 1)


def _sign(rng: np.random.Generator) -> float:
    return 1.0 if rng.uniform() < 0.5 else -1.0


def sample_pose(rng: np.random.Generator, kind: str | None = None, yaw: float | None = None,
                views: tuple[float, float, float] | None = None) -> Pose:
    """A random pose: a kind (``POSE_KINDS``), a view (front / back / side, drawn with ``views`` = weights
    of front, side, back) and framing jitter."""
    u = rng.uniform
    kind = kind if kind is not None else POSE_KINDS[_pick(rng, KIND_WEIGHTS)]
    if yaw is None:  # front, back or side (facing the image left or right)
        view = _pick(rng, VIEW_WEIGHTS if views is None else np.cumsum([views[0], views[2], views[1]]))
        yaw = [u(-25, 25), 180 + u(-25, 25), _sign(rng) * u(65, 105)][view]
    legs = [Leg(u(2, 7), u(-6, 6), u(0, 10), u(0, 15)) for _ in range(2)]
    lean_f, lean_s = u(-4, 4), u(-3, 3)
    arms = [_arm(rng, "down"), _arm(rng, "down")]
    if kind == "walk":
        phase = u(0.5, 1.0) * _sign(rng)
        swing = u(20, 32)
        legs = [
            Leg(u(2, 5), swing * phase, u(5, 15), u(0, 12)),
            Leg(u(2, 5), -swing * phase * u(0.7, 1.0), u(15, 35), u(0, 12)),
        ]
        arms = [Arm(u(6, 14), -phase * u(20, 35), u(10, 35)), Arm(u(6, 14), phase * u(20, 35), u(10, 35))]
    elif kind in ("arms_up", "arms_out", "hands_on_hips", "arms_bent"):
        which = {"arms_up": "up", "arms_out": "out", "hands_on_hips": "hip", "arms_bent": "bent"}[kind]
        both = rng.uniform() < 0.6
        first = int(rng.integers(2))
        arms[first] = _arm(rng, which)
        if both:
            arms[1 - first] = _arm(rng, which)
    elif kind == "lean":
        lean_f, lean_s = u(-14, 14), u(-12, 12)
    return Pose(
        kind=kind,
        yaw=float(yaw),
        head_yaw=float(u(-25, 25)),
        lean_forward=float(lean_f),
        lean_side=float(lean_s),
        arm_right=arms[0],
        arm_left=arms[1],
        leg_right=legs[0],
        leg_left=legs[1],
        fill=float(u(0.8, 0.95)),
        shift=(float(u(-1, 1)), float(u(-1, 1))),
    )
