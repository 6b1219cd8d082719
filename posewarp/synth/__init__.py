"""A procedural world of 2-D articulated people with exact keypoints, exact parsing and pose pairs.

``generate(out_dir, identities=N, poses_per_identity=K, size=(H, W), seed=S)`` writes a dataset in the
layout the real pipeline reads (images/, keypoints/ OpenPose JSON, parsing/ palette PNGs,
annotations.csv, pairs-train.csv, pairs-test.csv, meta.json; meta.json is written last, so a folder
without it is an interrupted run). ``render(i, k, size=..., seed=S)`` draws the same picture in memory
as ``(rgb, labels, keypoints)``; ``Identity`` / ``Pose`` objects may be passed to render hand-made cases.

Conventions: the 20 labels of ``posewarp.formats.parsing`` with left/right from the person's own
view (OpenPose's R/L); bare arms and hands are arm labels, sleeves are upper-clothes (dress on a
dress), the neck is face. A keypoint the view hides (far ear, face from behind) or another part
covers has confidence 0; every other keypoint lies on a pixel of its own part (``KEYPOINT_LABELS``).
Pairs are all ordered pairs of different poses of one identity (or a seeded sample); the train/test
split is by identity.
"""

from posewarp.synth.appearance import Identity, Material, sample_identity
from posewarp.synth.person import KEYPOINT_LABELS, render, world_identity
from posewarp.synth.skeleton import POSE_KINDS, Arm, Leg, Pose, sample_pose
from posewarp.synth.world import SYNTH_VERSION, generate, image_name, split_identities

__all__ = [
    "Arm", "Identity", "KEYPOINT_LABELS", "Leg", "Material", "POSE_KINDS", "Pose", "SYNTH_VERSION", "generate",
    "image_name", "render", "sample_identity", "sample_pose", "split_identities", "world_identity",
]  # fmt: skip
