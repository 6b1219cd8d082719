"""PG2/PATN's pose mask against ``produce_ma_mask`` written out here as scikit-image 0.14.2 ran it: the
per-pixel even-odd test of its ``_polygon`` loop, its ``circle`` (today's ``draw.disk``, same formula), and
scikit-image's dilation and erosion with a 5x5 square."""

import numpy as np
import pytest

from posewarp.formats.heatmaps import pose_mask
from posewarp.metrics.pose_mask import patn_pose_mask

skimage = pytest.importorskip("skimage")
from skimage.draw import disk  # noqa: E402
from skimage.morphology import dilation, erosion  # noqa: E402

LIMBS_1BASED = [[2, 3], [2, 6], [3, 4], [4, 5], [6, 7], [7, 8], [2, 9], [9, 10], [10, 11], [2, 12], [12, 13],
                [13, 14], [2, 1], [1, 15], [15, 17], [1, 16], [16, 18], [2, 17], [2, 18], [9, 12], [12, 6], [9, 3],
                [17, 18]]  # fmt: skip


def _inside_014(xp, yp, x, y):
    """scikit-image 0.14.2 ``point_in_polygon``: the crossing test with C's short-circuit ``and``."""
    c, j = False, len(xp) - 1
    for i in range(len(xp)):
        if ((yp[i] <= y < yp[j]) or (yp[j] <= y < yp[i])) and x < (xp[j] - xp[i]) * (y - yp[i]) / (yp[j] - yp[i]) + xp[i]:
            c = not c
        j = i
    return c


def _polygon_014(r, c, shape):
    minr, maxr = int(max(0, r.min())), min(shape[0] - 1, int(np.ceil(r.max())))
    minc, maxc = int(max(0, c.min())), min(shape[1] - 1, int(np.ceil(c.max())))
    rr, cc = [], []
    for ri in range(minr, maxr + 1):
        for ci in range(minc, maxc + 1):
            if _inside_014(c, r, float(ci), float(ri)):
                rr.append(ri)
                cc.append(ci)
    return np.array(rr, dtype=np.intp), np.array(cc, dtype=np.intp)


def produce_ma_mask(kp_yx, img_size, point_radius=4):
    """PATN's function on (y, x) keypoints with -1 for missing, as in its pose_utils.py."""
    mask = np.zeros(shape=img_size, dtype=bool)
    for f, t in np.array(LIMBS_1BASED) - 1:
        if -1 in kp_yx[f] or -1 in kp_yx[t]:
            continue
        v = kp_yx[f] - kp_yx[t]
        v = np.array([-v[1], v[0]])
        v = point_radius * v / np.linalg.norm(v)
        corners = np.array([kp_yx[f] + v, kp_yx[f] - v, kp_yx[t] - v, kp_yx[t] + v])
        yy, xx = _polygon_014(corners[:, 0], corners[:, 1], img_size)
        mask[yy, xx] = True
    for joint in kp_yx:
        if -1 in joint:
            continue
        yy, xx = disk((joint[0], joint[1]), point_radius, shape=img_size)
        mask[yy, xx] = True
    square = np.ones((5, 5), bool)
    return erosion(dilation(mask, square), square)


def _random_pose(rng, size, missing=3):
    h, w = size
    kp = np.zeros((18, 3), np.float32)
    kp[:, 0] = rng.integers(0, w, 18)
    kp[:, 1] = rng.integers(0, h, 18)
    kp[:, 2] = 1
    kp[rng.choice(18, missing, replace=False), 2] = 0
    yx = np.where(kp[:, 2:] > 0, kp[:, [1, 0]], -1).astype(np.int64)  # PATN CSV: integers, -1 = missing
    return kp, yx


@pytest.mark.parametrize("size", [(128, 64), (256, 176), (40, 30)])
def test_equals_patn_produce_ma_mask(size):
    rng = np.random.default_rng(sum(size))
    differs_from_training_mask = 0
    for _ in range(6):
        kp, yx = _random_pose(rng, size)
        got = patn_pose_mask(kp, size)
        want = produce_ma_mask(yx, size)
        assert got.dtype == bool and got.shape == size
        assert np.array_equal(got, want), f"{np.sum(got != want)} pixels differ"
        differs_from_training_mask += int(np.sum((pose_mask(kp, size) > 0) != got))
    assert differs_from_training_mask > 0  # the training mask is a different rasterisation


def test_edges_through_pixel_centres_and_the_border():
    # axis-aligned limbs put polygon edges exactly on pixel centres; joints on the image border clip
    kp = np.zeros((18, 3), np.float32)
    kp[1] = (10, 0, 1)  # neck on the top row
    kp[2] = (10, 20, 1)  # right shoulder straight below: a vertical band, edges at x = 6 and 14
    kp[5] = (0, 20, 1)  # left shoulder on the left border: a horizontal band
    kp[8] = (31, 39, 1)  # right hip in the bottom-right corner
    yx = np.where(kp[:, 2:] > 0, kp[:, [1, 0]], -1).astype(np.int64)
    got = patn_pose_mask(kp, (40, 32))
    assert np.array_equal(got, produce_ma_mask(yx, (40, 32)))
    assert got[0, 10] and got[39, 31] and not got[39, 0]


def test_no_keypoints_give_an_empty_mask_and_coincident_joints_no_band():
    assert not patn_pose_mask(np.zeros((18, 3)), (32, 32)).any()
    kp = np.zeros((18, 3), np.float32)
    kp[1] = kp[2] = (16, 16, 1)  # a zero-length limb: PATN would divide by zero; here only the disks remain
    only_disk = np.zeros((18, 3), np.float32)
    only_disk[1] = (16, 16, 1)
    assert np.array_equal(patn_pose_mask(kp, (32, 32)), patn_pose_mask(only_disk, (32, 32)))
