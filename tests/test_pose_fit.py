import numpy as np
import pytest

from posewarp.errors import PosewarpError
from posewarp.formats import keypoints as K
from posewarp.pose_fit import body_scale, fit_pose


def standing(scale=1.0, shift=(0.0, 0.0)):
    kp = K.empty()
    pts = {
        0: (0, -60), 1: (0, -40), 2: (-15, -40), 3: (-20, -15), 4: (-22, 10), 5: (15, -40), 6: (20, -15),
        7: (22, 10), 8: (-10, 10), 9: (-11, 45), 10: (-12, 80), 11: (10, 10), 12: (11, 45), 13: (12, 80),
        14: (-4, -64), 15: (4, -64), 16: (-8, -62), 17: (8, -62),
    }  # fmt: skip
    for i, (x, y) in pts.items():
        kp[i] = (x * scale + shift[0], y * scale + shift[1], 1.0)
    return kp


def test_fit_recovers_size_and_position_of_the_source():
    source = standing(1.0, (88, 128))
    target = standing(0.5, (30, 40))  # same pose, smaller and elsewhere
    assert body_scale(source, target) == pytest.approx(2.0)
    np.testing.assert_allclose(fit_pose(target, source), source, atol=1e-4)


def test_fit_keeps_the_target_pose_shape_and_missing_points():
    source = standing(1.0, (88, 128))
    target = standing(0.5, (30, 40))
    target[4, :2] += (10, -20)  # raise the right wrist
    target[16] = 0
    out = fit_pose(target, source)
    assert out[16, 2] == 0 and out[16, 0] == 0
    np.testing.assert_allclose(out[4, :2] - out[3, :2], 2 * (target[4, :2] - target[3, :2]), atol=1e-4)


def test_fit_needs_a_target():
    with pytest.raises(PosewarpError):
        fit_pose(K.empty(), standing())
    np.testing.assert_array_equal(fit_pose(standing(), K.empty()), standing())
