"""IS and FID arithmetic against hand-computed values; the FID Inception's layout, loading and resizes."""

import math

import numpy as np
import pytest
import torch

from posewarp.errors import PosewarpError
from posewarp.metrics import fid as FID
from posewarp.metrics.inception import FIDInceptionV3, load_fid_inception, prepare, tf1_resize_bilinear
from posewarp.metrics.inception_score import inception_score, softmax


def test_inception_score_by_hand_one_split():
    p = np.array([[0.9, 0.1], [0.2, 0.8]])
    m = (0.55, 0.45)
    kl1 = 0.9 * math.log(0.9 / m[0]) + 0.1 * math.log(0.1 / m[1])
    kl2 = 0.2 * math.log(0.2 / m[0]) + 0.8 * math.log(0.8 / m[1])
    mean, std = inception_score(p, splits=1)
    assert mean == pytest.approx(math.exp((kl1 + kl2) / 2), rel=1e-12)
    assert std == 0.0


def test_inception_score_splits_mean_and_std():
    # split 1: 4 distinct one-hot classes -> IS 4; split 2: all the same class -> IS 1
    p = np.zeros((8, 10))
    p[np.arange(4), np.arange(4)] = 1.0
    p[4:, 7] = 1.0
    mean, std = inception_score(p, splits=2)
    assert mean == pytest.approx(2.5) and std == pytest.approx(1.5)


def test_inception_score_uses_consecutive_splits_and_rejects_too_few():
    p = softmax(np.random.default_rng(0).normal(size=(25, 6)) * 3)
    parts = [p[k * 25 // 10 : (k + 1) * 25 // 10] for k in range(10)]
    by_hand = [math.exp(np.mean([sum(r * math.log(r / q) for r, q in zip(row, part.mean(0))) for row in part]))
               for part in parts]  # fmt: skip
    mean, std = inception_score(p, splits=10)
    assert mean == pytest.approx(np.mean(by_hand), rel=1e-10) and std == pytest.approx(np.std(by_hand), rel=1e-9)
    with pytest.raises(ValueError, match="splits"):
        inception_score(p[:5], splits=10)


def test_frechet_distance_diagonal_gaussians_analytic():
    mu1, mu2 = np.array([0.0, 1.0, 2.0]), np.array([1.0, 1.0, 0.0])
    v1, v2 = np.array([1.0, 4.0, 9.0]), np.array([4.0, 1.0, 1.0])
    want = np.sum((mu1 - mu2) ** 2) + np.sum(v1 + v2 - 2 * np.sqrt(v1 * v2))  # 5 + (1 + 1 + 4) = 11
    assert want == 11.0
    assert FID.frechet_distance(mu1, np.diag(v1), mu2, np.diag(v2)) == pytest.approx(11.0, abs=1e-9)


def test_frechet_distance_rotated_covariance_and_identity():
    rot = np.array([[np.cos(0.3), -np.sin(0.3)], [np.sin(0.3), np.cos(0.3)]])
    s1 = rot @ np.diag([4.0, 1.0]) @ rot.T
    s2 = rot @ np.diag([1.0, 9.0]) @ rot.T  # commutes with s1: sqrt(s1 s2) = rot diag(2, 3) rot^T
    want = 5.0 + 10.0 - 2 * 5.0  # |mu|^2 = 0; tr s1 + tr s2 - 2 tr sqrt
    assert FID.frechet_distance(np.zeros(2), s1, np.zeros(2), s2) == pytest.approx(want, abs=1e-9)
    assert FID.frechet_distance(np.ones(2), s1, np.ones(2), s1) == pytest.approx(0.0, abs=1e-9)


def test_feature_statistics_and_singular_covariances():
    f = np.array([[0.0, 1.0], [2.0, 1.0], [4.0, 4.0]])
    mu, sigma = FID.statistics(f)
    assert np.allclose(mu, [2.0, 2.0])
    assert np.allclose(sigma, [[4.0, 3.0], [3.0, 3.0]])  # sample covariance (N - 1)
    # fewer samples than dimensions: singular covariances still give a finite, ~0 self-distance
    g = np.random.default_rng(1).normal(size=(4, 16))
    mu, sigma = FID.statistics(g)
    assert abs(FID.frechet_distance(mu, sigma, mu, sigma)) < 1e-4


def test_statistics_file_round_trip_and_errors(tmp_path):
    mu, sigma = np.arange(3.0), np.eye(3)
    FID.save_statistics(tmp_path / "s.npz", mu, sigma, source="x")
    got = FID.load_statistics(tmp_path / "s.npz")
    assert np.array_equal(got[0], mu) and np.array_equal(got[1], sigma)
    np.savez(tmp_path / "bad.npz", mean=mu)
    with pytest.raises(PosewarpError, match="'mu' and 'sigma'"):
        FID.load_statistics(tmp_path / "bad.npz")


def test_tf1_resize_samples_i_times_in_over_out():
    x = torch.arange(12.0).view(1, 1, 3, 4)
    out = tf1_resize_bilinear(x, (6, 8))
    # column j samples x = j / 2 (clamped at the last column), row i samples y = i / 2
    assert torch.allclose(out[0, 0, 0], torch.tensor([0, 0.5, 1, 1.5, 2, 2.5, 3, 3]))
    assert torch.allclose(out[0, 0, :, 0], torch.tensor([0, 2, 4, 6, 8, 8.0]))
    assert torch.equal(tf1_resize_bilinear(x, (3, 4)), x)


def test_prepare_ranges():
    img = torch.tensor([0, 128, 255], dtype=torch.uint8).view(1, 3, 1, 1).expand(1, 3, 5, 5)
    tf = prepare(img, resize="tf1-bilinear", normalize="tf", size=7)
    fid = prepare(img, resize="torch-bilinear", normalize="fid", size=7)
    assert tf.shape == fid.shape == (1, 3, 7, 7)
    assert torch.allclose(tf[0, :, 0, 0], torch.tensor([-1.0, 0.0, 127 / 128]))
    assert torch.allclose(fid[0, :, 0, 0], torch.tensor([-1.0, 2 * 128 / 255 - 1, 1.0]), atol=1e-6)


@pytest.fixture(scope="module")
def inception_file(tmp_path_factory):
    """Seeded random weights in pytorch-fid's layout (an old file: no ``num_batches_tracked``)."""
    torch.manual_seed(0)
    state = {k: v for k, v in FIDInceptionV3().state_dict().items() if not k.endswith("num_batches_tracked")}
    for k in state:
        if k.endswith("running_var"):
            state[k] = torch.rand_like(state[k]) + 0.5
    path = tmp_path_factory.mktemp("inception") / "pt_inception.pth"
    torch.save(state, path)
    return path, state


def test_fid_inception_layout_load_and_outputs(inception_file):
    path, state = inception_file
    assert "Mixed_7c.branch_pool.conv.weight" in state and state["fc.weight"].shape == (1008, 2048)
    # the key layout pytorch-fid loads into: torchvision's Inception3 with 1008 classes and no aux head
    from torchvision.models.inception import Inception3

    reference = Inception3(num_classes=1008, aux_logits=False, init_weights=False).state_dict()
    reference = {k: tuple(v.shape) for k, v in reference.items() if not k.endswith("num_batches_tracked")}
    assert {k: tuple(v.shape) for k, v in state.items()} == reference
    model = load_fid_inception(path)
    assert torch.equal(model.state_dict()["Mixed_5b.branch1x1.conv.weight"], state["Mixed_5b.branch1x1.conv.weight"])
    x = prepare(torch.randint(0, 256, (1, 3, 64, 44)), resize="torch-bilinear", normalize="fid")
    with torch.no_grad():
        pool, logits = model(x)
        _, free = model(x, bias_free_logits=True)
    assert pool.shape == (1, 2048) and logits.shape == (1, 1008)
    assert torch.allclose(logits - free, state["fc.bias"][None], atol=1e-4)


def test_fid_inception_rejects_other_layouts(tmp_path, inception_file):
    state = dict(inception_file[1])
    state["fc.weight"] = torch.zeros(1000, 2048)
    torch.save(state, tmp_path / "b.pth")
    with pytest.raises(PosewarpError, match="wrong shapes"):
        load_fid_inception(tmp_path / "b.pth")
    torch.save({"AuxLogits.fc.weight": torch.zeros(1)}, tmp_path / "c.pth")
    with pytest.raises(PosewarpError, match="layout"):
        load_fid_inception(tmp_path / "c.pth")
    (tmp_path / "d.pth").write_bytes(b"not a checkpoint")
    with pytest.raises(PosewarpError, match="cannot read as a PyTorch weights file"):
        load_fid_inception(tmp_path / "d.pth")
