"""PCKh as PATN's ``tool/calPCKH_*.py`` computes it (reference/ecosystem.md section 1).

A keypoint of the generated image is correct when it and the target keypoint are both present and
``|dx| < alpha * head_w`` and ``|dy| < alpha * head_h``; the head box spans the target's present
head points (nose, neck, eyes, ears) and needs at least two of them, else the pair is skipped. The
score is the number of correct keypoints over the number of present target keypoints of the pairs
that were not skipped.
"""

from __future__ import annotations

import numpy as np

from posewarp.formats.keypoints import HEAD_KEYPOINTS, check_shape


def head_size(target: np.ndarray) -> tuple[float, float] | None:
    """``(width, height)`` of the box around the present head points of ``(18, 3)``, None with < 2."""
    head = check_shape(target)[list(HEAD_KEYPOINTS)]
    pts = head[head[:, 2] > 0][:, :2]
    if len(pts) < 2:
        return None
    w, h = pts.max(0) - pts.min(0)
    return float(w), float(h)


def pckh_counts(pred: np.ndarray, target: np.ndarray, alpha: float = 0.5) -> tuple[int, int, int]:
    """``(correct, total, skipped_pairs)`` over ``(N, 18, 3)`` predicted and target keypoints."""
    pred, target = check_shape(pred), check_shape(target)
    if pred.ndim == 2:
        pred, target = pred[None], target[None]
    if pred.shape != target.shape:
        raise ValueError(f"PCKh needs keypoints of one shape, got {pred.shape} and {target.shape}")
    correct = total = skipped = 0
    for p, t in zip(pred, target):
        size = head_size(t)
        if size is None:
            skipped += 1
            continue
        both = (p[:, 2] > 0) & (t[:, 2] > 0)
        close = (np.abs(p[:, 0] - t[:, 0]) < alpha * size[0]) & (np.abs(p[:, 1] - t[:, 1]) < alpha * size[1])
        correct += int((both & close).sum())
        total += int((t[:, 2] > 0).sum())
    return correct, total, skipped


def pckh(pred: np.ndarray, target: np.ndarray, alpha: float = 0.5) -> float:
    """The PCKh score in [0, 1] (NaN when no pair has a usable head box)."""
    correct, total, _ = pckh_counts(pred, target, alpha)
    return correct / total if total else float("nan")
