"""A procedural world of 2-D articulated people with exact keypoints, exact parsing and pose pairs.

``generate`` writes a dataset in the layout the real pipeline reads (images, OpenPose JSON, palette
parsing PNGs, PATN annotations and pairs); ``render`` draws one identity in one pose in memory.
"""

from posewarp.synth.appearance import Identity, sample_identity
from posewarp.synth.render import KEYPOINT_LABELS, render
from posewarp.synth.skeleton import POSE_KINDS, Arm, Leg, Pose, sample_pose
from posewarp.synth.world import SYNTH_VERSION, generate, image_name, split_identities

__all__ = [
    "Arm", "Identity", "KEYPOINT_LABELS", "Leg", "POSE_KINDS", "Pose", "SYNTH_VERSION", "generate", "image_name",
    "render", "sample_identity", "sample_pose", "split_identities",
]  # fmt: skip
