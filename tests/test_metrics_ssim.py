"""SSIM variants against scikit-image on fixed arrays, analytic cases, PATN padding, mask construction."""

import numpy as np
import pytest

from posewarp.formats.heatmaps import pose_mask
from scipy.ndimage import gaussian_filter

from posewarp.metrics.ssim import GFLA_WIN51, SKIMAGE_014, WANG_GAUSS, SSIMVariant, pad_width, ssim


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


def compare_ssim_0142(X, Y, data_range, sigma=1.5):
    """scikit-image 0.14.2 ``compare_ssim(X, Y, gaussian_weights=True, sigma=sigma, use_sample_covariance=False,
    multichannel=True, data_range=...)``: per channel, scipy's ``gaussian_filter`` with its default truncate
    (4.0), the border of the default 11-pixel window cropped, then the mean over channels."""
    out = []
    for ch in range(X.shape[-1]):
        x, y = X[..., ch].astype(np.float64), Y[..., ch].astype(np.float64)
        ux, uy = gaussian_filter(x, sigma), gaussian_filter(y, sigma)
        uxx, uyy, uxy = gaussian_filter(x * x, sigma), gaussian_filter(y * y, sigma), gaussian_filter(x * y, sigma)
        vx, vy, vxy = uxx - ux * ux, uyy - uy * uy, uxy - ux * uy
        c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
        s = ((2 * ux * uy + c1) * (2 * vxy + c2)) / ((ux**2 + uy**2 + c1) * (vx + vy + c2))
        pad = (11 - 1) // 2
        out.append(s[pad:-pad, pad:-pad].mean())
    return np.mean(out)


@pytest.mark.parametrize("shape", [(70, 50, 3), (256, 256, 3)])
def test_skimage_014_is_patns_pinned_compare_ssim(shape):
    rng = np.random.default_rng(7)
    smooth = gaussian_filter(rng.normal(0, 1, shape), (2, 2, 0))  # structure at the window's scale
    ref = np.clip(128 + 400 * smooth, 0, 255).astype(np.uint8)
    gen = np.clip(ref.astype(int) // 2 + 50 + rng.integers(-20, 21, shape), 0, 255).astype(np.uint8)
    want = compare_ssim_0142(ref, gen, data_range=gen.max() - gen.min())
    assert ssim(gen, ref, SKIMAGE_014) == pytest.approx(want, rel=1e-12)
    assert abs(ssim(gen, ref, WANG_GAUSS) - want) > 1e-5  # today's scikit-image (11 taps) is another number
    taps = gaussian_filter(np.eye(1, 41, 20)[0], 1.5, mode="constant", truncate=SKIMAGE_014.truncate)
    assert np.count_nonzero(taps) == 13 and SKIMAGE_014.window == 11


def test_gfla_win51_matches_skimage_gfla_call():
    metrics = pytest.importorskip("skimage.metrics")
    gen, ref = _pair((64, 60, 3), seed=2)
    gen32, ref32 = gen.astype(np.float32) / 255.0, ref.astype(np.float32) / 255.0  # GFLA: imread(...) / 255.0
    # compare_ssim of GFLA's time widened float32 to float64 (today's keeps float32: pass float64 to match)
    want = metrics.structural_similarity(ref32.astype(np.float64), gen32.astype(np.float64), data_range=1,
                                         win_size=51, channel_axis=-1)  # fmt: skip
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
