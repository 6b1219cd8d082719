"""SSIM variants against scikit-image on fixed arrays, analytic cases, PATN padding, mask construction."""

import numpy as np
import pytest

from posewarp.formats.heatmaps import pose_mask
from posewarp.metrics.ssim import GFLA_WIN51, WANG_GAUSS, SSIMVariant, pad_width, ssim


def _pair(shape, seed=0, noise=40):
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 256, shape, dtype=np.uint8)
    b = np.clip(a.astype(int) + rng.integers(-noise, noise + 1, shape), 0, 255).astype(np.uint8)
    return a, b


def test_wang_gauss_matches_skimage_patn_call():
    metrics = pytest.importorskip("skimage.metrics")
    gen, ref = _pair((70, 50, 3), seed=1)
    gen = (gen // 2 + 40).astype(np.uint8)  # low contrast: data_range = gen.max() - gen.min() < 255 matters
    want = metrics.structural_similarity(
        ref, gen, gaussian_weights=True, sigma=1.5, use_sample_covariance=False, channel_axis=-1,
        data_range=gen.max() - gen.min(),
    )  # fmt: skip
    assert ssim(gen, ref, WANG_GAUSS) == pytest.approx(want, abs=1e-9)
    # and it is not the data_range=255 value
    fixed = SSIMVariant(name="x", data_range=255.0)
    assert abs(ssim(gen, ref, fixed) - want) > 1e-3


def test_gfla_win51_matches_skimage_gfla_call():
    metrics = pytest.importorskip("skimage.metrics")
    gen, ref = _pair((64, 60, 3), seed=2)
    want = metrics.structural_similarity(ref / 255.0, gen / 255.0, data_range=1, win_size=51, channel_axis=-1)
    assert ssim(gen, ref, GFLA_WIN51) == pytest.approx(want, abs=1e-9)


def test_padded_256x176_matches_skimage():
    metrics = pytest.importorskip("skimage.metrics")
    gen, ref = _pair((256, 176, 3), seed=3, noise=60)
    gen_p, ref_p = pad_width(gen), pad_width(ref)
    want = metrics.structural_similarity(
        ref_p, gen_p, gaussian_weights=True, sigma=1.5, use_sample_covariance=False, channel_axis=-1,
        data_range=gen_p.max() - gen_p.min(),
    )  # fmt: skip
    assert ssim(gen_p, ref_p) == pytest.approx(want, abs=1e-9)


def test_window_sizes():
    assert WANG_GAUSS.window == 11  # 2 * int(3.5 * 1.5 + 0.5) + 1
    assert GFLA_WIN51.window == 51


def test_identical_images_score_one():
    a, _ = _pair((40, 30, 3))
    assert ssim(a, a) == pytest.approx(1.0, abs=1e-12)
    b = np.tile(a[:1], (64, 2, 1))[:, :60]
    assert ssim(b, b, GFLA_WIN51) == pytest.approx(1.0, abs=1e-12)


def test_flat_images_analytic():
    # constant images: zero variances, so SSIM = (2ab + C1) / (a^2 + b^2 + C1) with C1 = (0.01 * 255)^2
    a = np.full((32, 32, 3), 100, np.uint8)
    b = np.full((32, 32, 3), 150, np.uint8)
    c1 = (0.01 * 255) ** 2
    want = (2 * 100 * 150 + c1) / (100**2 + 150**2 + c1)
    assert ssim(a, b, SSIMVariant(name="x", data_range=255.0)) == pytest.approx(want, rel=1e-12)


def test_shape_checks():
    a, b = _pair((40, 30, 3))
    with pytest.raises(ValueError, match="one shape"):
        ssim(a, b[:, :20])
    with pytest.raises(ValueError, match="window"):
        ssim(a, b, GFLA_WIN51)


def test_pad_width_is_patn_add_bounding():
    img = np.zeros((256, 176, 3), np.uint8)
    out = pad_width(img)
    assert out.shape == (256, 256, 3)
    assert (out[:, :40] == 255).all() and (out[:, -40:] == 255).all() and (out[:, 40:216] == 0).all()


def test_mask_ssim_ignores_everything_outside_the_pose_mask():
    kp = np.zeros((18, 3), np.float32)
    kp[1] = (30, 20, 1)  # neck
    kp[8] = (25, 50, 1)  # right hip
    kp[11] = (35, 50, 1)  # left hip
    mask = pose_mask(kp, (64, 64))
    assert mask[20, 30] == 1 and mask[35, 27] == 1 and mask[5, 5] == 0 and mask[60, 60] == 0
    gen, ref = _pair((64, 64, 3), seed=4)[0], _pair((64, 64, 3), seed=5)[0]
    other = np.where(mask[..., None] > 0, gen, ref)  # equal to gen inside the mask only
    m = mask[..., None]
    assert ssim(other * m, gen * m) == pytest.approx(1.0, abs=1e-12)
    assert ssim(other, gen) < 0.5
