"""PCKh arithmetic with planted keypoints (PATN's calPCKH rules)."""

import numpy as np
import pytest

from posewarp.metrics.pckh import head_size, pckh, pckh_counts


def _target():
    kp = np.zeros((18, 3), np.float32)
    kp[0] = (50, 20, 1)  # nose
    kp[1] = (50, 40, 1)  # neck
    kp[16], kp[17] = (40, 18, 1), (60, 18, 1)  # ears -> head box 20 x 22
    kp[4] = (30, 80, 1)  # a wrist
    return kp


def test_head_size_needs_two_head_points():
    assert head_size(_target()) == (20.0, 22.0)
    one = np.zeros((18, 3), np.float32)
    one[0] = (5, 5, 1)
    one[4] = (9, 9, 1)  # not a head point
    assert head_size(one) is None


def test_thresholds_are_strict_and_per_axis():
    t = _target()
    p = t.copy()
    p[0, 0] += 9.9  # |dx| < 10 passes
    p[1, 0] += 10.0  # |dx| = 0.5 * 20 fails (strict)
    p[16, 1] += 10.9  # |dy| < 11 passes
    p[17, 1] -= 11.0  # fails
    p[4] = 0  # missing in the prediction: counted in the denominator, never correct
    correct, total, skipped = pckh_counts(p, t)
    assert (correct, total, skipped) == (2, 5, 0)
    assert pckh(p, t) == pytest.approx(0.4)


def test_pairs_without_head_box_are_skipped_and_extra_predictions_ignored():
    t = _target()
    no_head = np.zeros((18, 3), np.float32)
    no_head[4] = (1, 1, 1)
    pred = t.copy()
    pred[7] = (70, 70, 1)  # the target lacks joint 7: not counted
    correct, total, skipped = pckh_counts(np.stack([pred, no_head]), np.stack([t, no_head]))
    assert (correct, total, skipped) == (5, 5, 1)
    assert np.isnan(pckh(no_head, no_head))
