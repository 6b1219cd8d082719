"""Fit a target skeleton to the source person's body size and place in the frame.

A target pose usually comes from another photo: another person, another distance to the camera,
another framing. Transferring it as given would ask the generator to shrink or grow the person.
``fit_pose`` rescales the target about its torso so that its limbs have the source's lengths
(median ratio over limbs seen in both) and moves it so that the torso centres coincide.
"""

from __future__ import annotations

import numpy as np

from posewarp.errors import PosewarpError
from posewarp.formats.keypoints import check_shape, visible

# Limbs whose length measures body size: shoulders, upper/lower arms, torso sides, hips, thighs, shins.
SIZE_LIMBS = ((2, 5), (2, 3), (3, 4), (5, 6), (6, 7), (1, 8), (1, 11), (8, 11), (8, 9), (9, 10), (11, 12), (12, 13))
# Torso points whose mean is the anchor of the pose.
TORSO = (1, 2, 5, 8, 11)


def _limb_lengths(kp: np.ndarray) -> dict[tuple[int, int], float]:
    vis = visible(kp)
    return {(a, b): float(np.hypot(*(kp[a, :2] - kp[b, :2]))) for a, b in SIZE_LIMBS if vis[a] and vis[b]}


def _anchor(kp: np.ndarray, points: list[int]) -> np.ndarray:
    return kp[points, :2].mean(0)


def body_scale(source: np.ndarray, target: np.ndarray) -> float:
    """How much the target must grow to have the source's body size (1.0 when nothing is comparable)."""
    src, tgt = _limb_lengths(source), _limb_lengths(target)
    ratios = [src[k] / tgt[k] for k in src.keys() & tgt.keys() if tgt[k] > 1e-3 and src[k] > 1e-3]
    if ratios:
        return float(np.median(ratios))
    src_pts, tgt_pts = source[visible(source), :2], target[visible(target), :2]
    if len(src_pts) >= 2 and len(tgt_pts) >= 2:
        src_h = np.ptp(src_pts[:, 1])
        tgt_h = np.ptp(tgt_pts[:, 1])
        if src_h > 1e-3 and tgt_h > 1e-3:
            return float(src_h / tgt_h)
    return 1.0


def fit_pose(target: np.ndarray, source: np.ndarray) -> np.ndarray:
    """Return ``target`` ``(18, 3)`` rescaled and moved onto the ``source`` person's size and position."""
    target, source = check_shape(target), check_shape(source)
    if target.ndim != 2 or source.ndim != 2:
        raise PosewarpError("fit_pose takes one person (18, 3) each")
    vis_t, vis_s = visible(target), visible(source)
    if vis_t.sum() < 2:
        raise PosewarpError("the target pose has fewer than two keypoints")
    if vis_s.sum() < 2:
        return target.copy()
    common = [i for i in TORSO if vis_t[i] and vis_s[i]] or [i for i in range(18) if vis_t[i] and vis_s[i]]
    scale = body_scale(source, target)
    if common:
        t_anchor, s_anchor = _anchor(target, common), _anchor(source, common)
    else:
        t_anchor, s_anchor = target[vis_t, :2].mean(0), source[vis_s, :2].mean(0)
    out = target.copy()
    out[vis_t, :2] = (target[vis_t, :2] - t_anchor) * scale + s_anchor
    return out
