"""A procedural world of 2-D articulated people with exact keypoints, exact parsing and pose pairs.

``generate(out_dir, identities=N, poses_per_identity=K, size=(H, W), seed=S, recipe=R)`` writes a dataset in the
layout the real pipeline reads (images/, keypoints/ OpenPose JSON, parsing/ palette PNGs,
annotations.csv, pairs-train.csv, pairs-test.csv, meta.json; meta.json is written last, so a folder
without it is an interrupted run). ``render(i, k, size=..., seed=S)`` draws the same picture in memory
as ``(rgb, labels, keypoints)``; ``Identity`` / ``Pose`` objects may be passed to render hand-made cases.

Conventions: the 20 labels of ``posewarp.formats.parsing`` with left/right from the person's own
view (OpenPose's R/L); bare arms and hands are arm labels, sleeves are upper-clothes (dress on a
dress), the neck is face. A keypoint the view hides (far ear, face from behind) or another part
covers has confidence 0; every other keypoint lies on a pixel of its own part (``KEYPOINT_LABELS``).
Pairs are all ordered pairs of different poses of one identity (or a seeded sample); the train / validation
/ test split is by identity. A recipe (``recipes.RECIPES``: mannequin, fashion, street) says how close to real
photographs the world comes; ``photograph(i, k, size=..., seed=S, recipe=R)`` draws one photo of it in memory.
"""

import importlib

_EXPORTS = {
    "Identity": "appearance", "Material": "appearance", "sample_identity": "appearance",
    "KEYPOINT_LABELS": "person", "render": "person", "world_identity": "person",
    "POSE_KINDS": "skeleton", "Arm": "skeleton", "Leg": "skeleton", "Pose": "skeleton", "sample_pose": "skeleton",
    "SYNTH_VERSION": "world", "generate": "world", "image_name": "world", "split_identities": "world",
    "identity_splits": "world", "photograph": "scene", "Photo": "scene", "RECIPES": "recipes", "Recipe": "recipes",
}  # fmt: skip
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    """Import on first use, so that ``posewarp.synth.recipes`` (the CLI's choices) needs neither torch nor cv2."""
    if name not in _EXPORTS:
        raise AttributeError(f"module 'posewarp.synth' has no attribute {name!r}")
    return getattr(importlib.import_module(f"posewarp.synth.{_EXPORTS[name]}"), name)
