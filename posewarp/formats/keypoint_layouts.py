"""Other keypoint orders people have, mapped to OpenPose COCO-18.

* ``body25``: OpenPose's default BODY_25 model (OpenPose ``doc/02_output.md``, ``POSE_BODY_25_BODY_PARTS``):
  0 Nose, 1 Neck, 2 RShoulder, 3 RElbow, 4 RWrist, 5 LShoulder, 6 LElbow, 7 LWrist, 8 MidHip, 9 RHip,
  10 RKnee, 11 RAnkle, 12 LHip, 13 LKnee, 14 LAnkle, 15 REye, 16 LEye, 17 REar, 18 LEar, 19 LBigToe,
  20 LSmallToe, 21 LHeel, 22 RBigToe, 23 RSmallToe, 24 RHeel. COCO-18 is BODY_25 without MidHip and the feet.
* ``coco17``: MS COCO person keypoints (the ``categories[].keypoints`` of ``person_keypoints_*.json``, also
  mmpose, RTMPose/DWPose and YOLO-pose outputs): 0 nose, 1 left_eye, 2 right_eye, 3 left_ear, 4 right_ear,
  5 left_shoulder, 6 right_shoulder, 7 left_elbow, 8 right_elbow, 9 left_wrist, 10 right_wrist, 11 left_hip,
  12 right_hip, 13 left_knee, 14 right_knee, 15 left_ankle, 16 right_ankle. COCO-17 has no neck: it becomes the
  midpoint of the two shoulders (confidence: the lower of theirs) when both are seen, else missing.

Arrays are ``(..., K, 3)`` x, y, confidence with confidence 0 for a missing point, as in ``keypoints.py``.
"""

from __future__ import annotations

import numpy as np

LAYOUT_SIZES = {"coco18": 18, "body25": 25, "coco17": 17}

# COCO-18 index i takes BODY_25 point BODY25_TO_COCO18[i].
BODY25_TO_COCO18 = (0, 1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18)

# COCO-18 index i takes COCO-17 point COCO17_TO_COCO18[i]; the neck (index 1) is computed.
COCO17_TO_COCO18 = (0, None, 6, 8, 10, 5, 7, 9, 12, 14, 16, 11, 13, 15, 2, 1, 4, 3)
COCO17_LEFT_SHOULDER, COCO17_RIGHT_SHOULDER = 5, 6


def layout_of(num_points: int) -> str | None:
    """The layout a person with ``num_points`` keypoints is in (None when no known layout has that many)."""
    return next((name for name, n in LAYOUT_SIZES.items() if n == num_points), None)


def to_coco18(points: np.ndarray, layout: str) -> np.ndarray:
    """``(..., K, 3)`` in ``layout`` -> ``(..., 18, 3)`` float32 COCO-18; missing points are 0, 0, 0."""
    with np.errstate(over="ignore"):  # a value beyond float32 becomes inf, which check_values refuses
        points = np.asarray(points, np.float32)
    if points.shape[-2:] != (LAYOUT_SIZES[layout], 3):
        raise ValueError(f"{layout} needs (..., {LAYOUT_SIZES[layout]}, 3), got {points.shape}")
    if layout == "coco18":
        out = points.copy()
    elif layout == "body25":
        out = points[..., list(BODY25_TO_COCO18), :].copy()
    else:
        out = np.zeros(points.shape[:-2] + (18, 3), np.float32)
        for i, j in enumerate(COCO17_TO_COCO18):
            if j is not None:
                out[..., i, :] = points[..., j, :]
        left, right = points[..., COCO17_LEFT_SHOULDER, :], points[..., COCO17_RIGHT_SHOULDER, :]
        both = (left[..., 2] > 0) & (right[..., 2] > 0)
        out[..., 1, :2] = np.where(both[..., None], (left[..., :2] + right[..., :2]) / 2, 0.0)
        out[..., 1, 2] = np.where(both, np.minimum(left[..., 2], right[..., 2]), 0.0)
    out[out[..., 2] <= 0] = 0.0
    return out
