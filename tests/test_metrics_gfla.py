"""The ``gfla`` protocol against GFLA's ``script/metrics.py`` arithmetic written out here: its FID route
(torchvision's Inception v3 blocks, x / 255, bilinear resize, transform_input, only whole batches) on seeded
weights in torchvision's key layout, and its LPIPS averaging over whole batches."""

import hashlib
import math
from dataclasses import replace

import numpy as np
import pytest
import torch
import torch.nn.functional as F
import torchvision

from posewarp.formats.images import read_image, write_image
from posewarp.formats.images import to_tensor
from posewarp.formats.images import list_images
from posewarp.metrics.evaluate import _inception_models, evaluate
from posewarp.metrics.fid_real import RealSet, folder_statistics
from posewarp.metrics.protocols import GFLA, GFLA_MODERN, used


def _seeded_inception(seed: int) -> torchvision.models.Inception3:
    """torchvision's Inception v3 with seeded He-scaled weights (its own init explodes without real BN stats)."""
    net = torchvision.models.inception_v3(weights=None, aux_logits=True, init_weights=False).eval()
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, t in net.state_dict().items():
            if not t.dtype.is_floating_point:
                continue
            if t.ndim > 1:
                t.copy_(torch.randn(t.shape, generator=g) * math.sqrt(2.0 / t[0].numel()))
            elif name.endswith(("running_var", "bn.weight")):
                t.fill_(1.0)
            else:
                t.copy_(torch.randn(t.shape, generator=g) * 0.1)
    return net


@torch.inference_mode()
def _gfla_activations(net, files) -> np.ndarray:
    """GFLA's get_activations with its InceptionV3([3]) (resize_input, normalize_input) as its scripts do it."""
    imgs = np.array([read_image(f).astype(np.float32) for f in files]).transpose((0, 3, 1, 2)) / 255
    x = F.interpolate(torch.from_numpy(imgs), size=(299, 299), mode="bilinear", align_corners=False)
    x = x.clone()
    x[:, 0] = x[:, 0] * (0.229 / 0.5) + (0.485 - 0.5) / 0.5
    x[:, 1] = x[:, 1] * (0.224 / 0.5) + (0.456 - 0.5) / 0.5
    x[:, 2] = x[:, 2] * (0.225 / 0.5) + (0.406 - 0.5) / 0.5
    blocks = [net.Conv2d_1a_3x3, net.Conv2d_2a_3x3, net.Conv2d_2b_3x3, torch.nn.MaxPool2d(3, 2), net.Conv2d_3b_1x1,
              net.Conv2d_4a_3x3, torch.nn.MaxPool2d(3, 2), net.Mixed_5b, net.Mixed_5c, net.Mixed_5d, net.Mixed_6a,
              net.Mixed_6b, net.Mixed_6c, net.Mixed_6d, net.Mixed_6e, net.Mixed_7a, net.Mixed_7b, net.Mixed_7c,
              torch.nn.AdaptiveAvgPool2d((1, 1))]  # fmt: skip
    for block in blocks:
        x = block(x)
    return x.reshape(len(files), -1).double().numpy()


def _frechet(a: np.ndarray, b: np.ndarray) -> float:
    """FID of two small feature sets: tr sqrt(S1 S2) from the eigenvalues of the n1 x n1 matrix that shares
    S1 S2's non-zero eigenvalues (no 2048 x 2048 matrix square root)."""
    ca, cb = a - a.mean(0), b - b.mean(0)
    s1, s2 = ca.T @ ca / (len(a) - 1), cb.T @ cb / (len(b) - 1)
    small = ca @ (cb.T @ cb) @ ca.T / ((len(a) - 1) * (len(b) - 1))
    root = np.sqrt(np.clip(np.linalg.eigvalsh((small + small.T) / 2), 0, None)).sum()
    diff = a.mean(0) - b.mean(0)
    return float(diff @ diff + np.trace(s1) + np.trace(s2) - 2 * root)


def _images(folder, names, seed, size=(40, 32)):
    rng = np.random.default_rng(seed)
    for n in names:
        write_image(folder / f"{n}.png", rng.integers(0, 256, (*size, 3), dtype=np.uint8))


@pytest.fixture()
def route(tmp_path):
    names = ("p", "q", "r", "s")
    _images(tmp_path / "gt", names, 1)
    _images(tmp_path / "pred", names, 2)
    _images(tmp_path / "real", ("w", "v", "u", "t"), 3)
    net = _seeded_inception(0)
    torch.save(net.state_dict(), tmp_path / "tv.pth")
    return tmp_path, net, replace(GFLA, whole_batches=3)  # 4 images: GFLA's batching keeps the first 3


def test_real_statistics_on_seeded_torchvision_weights_drop_the_remainder(route):
    root, net, proto = route
    _, model, digest = _inception_models(("fid",), proto, {"inception-torchvision": root / "tv.pth"}, None, "cpu")
    mu, sigma, info = folder_statistics(root / "real", model, proto, digest, cache_dir=root / "cache",
                                        show_progress=False)  # fmt: skip
    want = _gfla_activations(net, [root / "real" / f"{n}.png" for n in ("t", "u", "v")])  # sorted, first 3
    assert np.isfinite(want).all() and want.std(0).mean() > 1e-4
    assert np.allclose(mu, want.mean(0), rtol=1e-4, atol=1e-5 * np.abs(want).max())
    assert np.allclose(sigma, np.cov(want, rowvar=False), rtol=1e-3, atol=1e-4 * np.abs(np.cov(want, rowvar=False)).max())
    assert (info["count"], info["dropped"], info["origin"]) == (3, 1, "computed")
    assert info["weights_sha256"] == hashlib.sha256((root / "tv.pth").read_bytes()).hexdigest()


@pytest.mark.slow  # one 2048 x 2048 matrix square root: about 20 s on one core
def test_fid_route_end_to_end(route):
    root, net, proto = route
    doc = evaluate(root / "pred", root / "gt", metrics="fid", protocol=proto, fid_real=root / "real",
                   fid_cache_dir=root / "cache", weights={"inception-torchvision": root / "tv.pth"},
                   show_progress=False, device="cpu")["metrics"]["fid"]  # fmt: skip
    fake = _gfla_activations(net, [root / "pred" / f"{n}.png" for n in ("p", "q", "r")])
    real = _gfla_activations(net, [root / "real" / f"{n}.png" for n in ("t", "u", "v")])
    assert doc["value"] == pytest.approx(_frechet(fake, real), rel=1e-4)
    assert (doc["count"], doc["dropped"], doc["real"]["count"]) == (3, 1, 3)
    assert doc["network"] == "inception-torchvision" and doc["input"] == "gfla-torchvision-inception"


def test_other_weights_of_the_same_size_get_another_cache_entry(tmp_path):
    state = _seeded_inception(0).state_dict()
    torch.save(state, tmp_path / "w1.pth")  # torch.save names its records after the file: same-length names
    state["fc.weight"] = -state["fc.weight"]
    torch.save(state, tmp_path / "w2.pth")
    assert (tmp_path / "w1.pth").stat().st_size == (tmp_path / "w2.pth").stat().st_size
    _images(tmp_path / "real", ("t", "u"), 3)
    sets = []
    for name in ("w1.pth", "w2.pth", "w1.pth"):
        *_, digest = _inception_models(("fid",), GFLA, {"inception-torchvision": tmp_path / name}, None, "cpu")
        sets.append(RealSet(tmp_path / "real", list_images(tmp_path / "real"), GFLA, digest, tmp_path / "cache"))
    assert sets[0].path != sets[1].path and sets[0].path == sets[2].path
    assert sets[0].info["images_sha256"] == sets[1].info["images_sha256"]


def test_used_is_gflas_batching():
    assert [used(n, 64) for n in (1, 63, 64, 65, 127, 128, 8570)] == [1, 63, 64, 64, 64, 128, 8512]
    assert used(8570, None) == 8570


def _lpips_files(tmp_path):
    from posewarp.metrics.lpips import CHANNELS, alexnet_features

    torch.manual_seed(0)
    torch.save({f"features.{k}": v for k, v in alexnet_features().state_dict().items()}, tmp_path / "alexnet.pth")
    torch.save({f"lin{i}.model.1.weight": torch.rand(1, c, 1, 1) for i, c in enumerate(CHANNELS)}, tmp_path / "a.pth")
    return {"alexnet": tmp_path / "alexnet.pth", "lpips-alex": tmp_path / "a.pth"}


def test_lpips_averages_whole_batches_of_the_sorted_generated_files(tmp_path):
    from posewarp.metrics.lpips import load_lpips

    names = ("e", "b", "d", "a", "c")
    _images(tmp_path / "gt", names, 4, size=(64, 48))
    _images(tmp_path / "pred", names, 5, size=(64, 48))
    weights = _lpips_files(tmp_path)
    model = load_lpips(weights["alexnet"], weights["lpips-alex"])

    def distance(n):
        x, y = (to_tensor(np.array(read_image(tmp_path / d / f"{n}.png"))[None]) for d in ("pred", "gt"))
        with torch.inference_mode():
            return float(model(x, y))

    per_pair = {n: distance(n) for n in names}
    proto = replace(GFLA, whole_batches=2)
    doc = evaluate(tmp_path / "pred", tmp_path / "gt", metrics="lpips", protocol=proto, weights=weights,
                   show_progress=False)  # fmt: skip
    assert doc["metrics"]["lpips"]["value"] == pytest.approx(np.mean([per_pair[n] for n in "abcd"]), rel=1e-6)
    assert (doc["metrics"]["lpips"]["count"], doc["metrics"]["lpips"]["dropped"]) == (4, 1)
    assert any("first 4 of 5 pairs" in note for note in doc["notes"])
    every = evaluate(tmp_path / "pred", tmp_path / "gt", metrics="lpips", protocol=proto, weights=weights,
                     keep_remainder=True, show_progress=False)  # fmt: skip
    assert every["metrics"]["lpips"]["value"] == pytest.approx(np.mean(list(per_pair.values())), rel=1e-6)
    modern = evaluate(tmp_path / "pred", tmp_path / "gt", metrics="lpips", protocol=GFLA_MODERN, weights=weights,
                      show_progress=False)  # fmt: skip
    assert modern["metrics"]["lpips"]["count"] == 5
