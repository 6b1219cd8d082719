import numpy as np
import torch

from posewarp.formats import heatmaps as H
from posewarp.formats import keypoints as K


def pose_gaussians(kp, size: tuple[int, int], sigma: float = 6.0):
    """``(..., 18, H, W)`` float32 ``exp(-d^2 / (2 sigma^2))`` per present keypoint (PATN used sigma 6): the
    Gaussian maps beside the library's disks, built on its distance helpers (only the tests use them)."""
    t, to_numpy = H._as_tensor(kp)
    present = (t[..., 2] > 0)[..., None, None]
    maps = torch.exp(-H._sq_dist(t, size) / (2 * sigma * sigma)) * present
    return H._out(maps.float(), to_numpy)


def test_disk_of_radius_4_covers_49_pixels_and_missing_is_empty():
    kp = K.empty()
    kp[0] = (20, 30, 1.0)
    maps = H.pose_disks(kp, (64, 48))
    assert maps.shape == (18, 64, 48) and maps.dtype == np.float32
    assert maps[0].sum() == 49
    assert maps[0, 30, 20] == 1 and maps[0, 30, 24] == 1 and maps[0, 30, 25] == 0 and maps[0, 33, 23] == 0
    assert maps[1:].sum() == 0


def test_disks_are_clipped_at_the_border():
    kp = K.empty()
    kp[0] = (0, 0, 1.0)
    maps = H.pose_disks(kp, (32, 32))
    assert maps[0].sum() == 17  # a quarter of the 49: (49 - 9 - 9 + 1) / 4 = 8 inside, 5 + 5 - 1 on the axes
    ys, xs = np.mgrid[0:32, 0:32]
    assert maps[0].sum() == ((xs**2 + ys**2) <= 16).sum()


def test_numpy_and_torch_agree_and_batch():
    rng = np.random.default_rng(0)
    kp = np.zeros((2, 18, 3), np.float32)
    kp[..., 0] = rng.uniform(0, 63, (2, 18))
    kp[..., 1] = rng.uniform(0, 127, (2, 18))
    kp[..., 2] = rng.integers(0, 2, (2, 18))
    for fn in (H.pose_disks, pose_gaussians, H.pose_mask):
        a = fn(kp, (128, 64))
        b = fn(torch.from_numpy(kp), (128, 64))
        assert isinstance(a, np.ndarray) and isinstance(b, torch.Tensor)
        np.testing.assert_allclose(a, b.numpy())


def test_gaussian_peak_and_sigma():
    kp = K.empty()
    kp[3] = (10, 10, 1)
    g = pose_gaussians(kp, (32, 32), sigma=6)
    assert g[3, 10, 10] == 1.0
    np.testing.assert_allclose(g[3, 10, 16], np.exp(-36 / 72), rtol=1e-6)


def test_pose_mask_covers_limbs_and_is_closed():
    kp = K.empty()
    kp[1] = (32, 20, 1)  # neck
    kp[8] = (26, 90, 1)  # right hip
    kp[11] = (38, 90, 1)  # left hip
    mask = H.pose_mask(kp, (128, 64))
    assert mask.shape == (128, 64)
    assert mask[55, 29] == 1  # on the neck-hip band
    assert mask[90, 32] == 1  # on the hip-hip band
    assert mask[5, 5] == 0 and mask[120, 60] == 0
    assert mask.sum() < 128 * 64 / 4
