"""The parser's pre/post-processing around the network: letterbox, BGR normalisation, inverse affine, TTA plumbing.

A stand-in network that knows the label map returns its one-hot logits through the letterbox (computed here
from the geometry, independently of the pipeline); the pipeline must give the label map back exactly.
"""

import cv2
import numpy as np
import pytest
import torch
from torch import nn

from posewarp.errors import PosewarpError
from posewarp.preprocess import parser as P

SIZE = 473


def letterboxed_one_hot(labels: np.ndarray, size: int, num_classes: int = 20) -> torch.Tensor:
    """One-hot ``(C, size, size)`` of ``labels`` seen through SCHP's letterbox: each input pixel takes the label of
    the nearest image pixel (background outside the image)."""
    h, w = labels.shape
    s = (size - 1) / max(h - 1, w - 1)
    grid = np.arange(size, dtype=np.float64)
    x = np.rint((grid - ((size - 1) / 2 - s * (w - 1) / 2)) / s).astype(int)
    y = np.rint((grid - ((size - 1) / 2 - s * (h - 1) / 2)) / s).astype(int)
    inside = (y[:, None] >= 0) & (y[:, None] < h) & (x[None, :] >= 0) & (x[None, :] < w)
    lab = np.where(inside, labels[np.clip(y, 0, h - 1)[:, None], np.clip(x, 0, w - 1)[None, :]], 0)
    return torch.from_numpy((lab[None] == np.arange(num_classes)[:, None, None]).astype(np.float32))


class StandIn(nn.Module):
    """Returns SCHP's output structure with one-hot logits of known label maps (one per batch item)."""

    def __init__(self, label_maps):
        super().__init__()
        self.label_maps = label_maps
        self.seen = []

    def forward(self, x):
        self.seen.append(x.clone())
        size = x.shape[-1]
        fusion = torch.stack([letterboxed_one_hot(m, size) for m in self.label_maps]).to(x.device)
        return [[fusion * 0, fusion], [fusion[:, :2]]]


def random_labels(h, w, seed):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 20, (h, w)).astype(np.uint8)


def random_rgb(h, w, seed):
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3)).astype(np.uint8)


@pytest.mark.parametrize("hw", [(37, 23), (23, 58), (41, 41), (9, 64), (64, 9)])
def test_one_hot_through_the_letterbox_comes_back_exactly(hw):
    labels = random_labels(*hw, seed=hw[0] * 100 + hw[1])
    parser = P.HumanParser(network=StandIn([labels]), device="cpu", amp=False)
    out = parser(random_rgb(*hw, seed=1))
    assert out.shape == hw and out.dtype == np.uint8
    np.testing.assert_array_equal(out, labels)
    logits = parser.logits(random_rgb(*hw, seed=1))
    assert logits.shape == (*hw, 20) and logits.dtype == np.float32


def test_batch_of_different_sizes_matches_one_by_one():
    sizes = [(31, 17), (17, 45), (30, 30)]
    maps = [random_labels(*s, seed=i) for i, s in enumerate(sizes)]
    images = [random_rgb(*s, seed=i) for i, s in enumerate(sizes)]
    batched = P.HumanParser(network=StandIn(maps), device="cpu").batch(images)
    for m, img, out in zip(maps, images, batched):
        np.testing.assert_array_equal(out, m)
        np.testing.assert_array_equal(P.HumanParser(network=StandIn([m]), device="cpu")(img), m)


def test_letterbox_geometry_is_schp_s():
    h, w = 20, 51
    forward, inverse = P.letterbox_affine(h, w, SIZE)
    s = (SIZE - 1) / (w - 1)
    expected = np.array([[s, 0, 0], [0, s, (SIZE - 1) / 2 - s * (h - 1) / 2]])
    np.testing.assert_allclose(forward, expected, atol=1e-4)
    back = np.vstack([inverse, [0, 0, 1]]) @ np.vstack([forward, [0, 0, 1]])
    np.testing.assert_allclose(back, np.eye(3), atol=1e-6)
    # The longer side spans the whole input; the corners land on its first and last pixel.
    corners = cv2.transform(np.array([[[0, 0], [w - 1, h - 1]]], np.float64), forward)[0]
    np.testing.assert_allclose(corners[:, 0], [0, SIZE - 1], atol=1e-3)


def test_input_is_bgr_normalised_with_black_letterbox():
    rgb = np.zeros((40, 20, 3), np.uint8)
    rgb[..., 0] = 255  # pure red
    net = StandIn([np.zeros((40, 20), np.uint8)])
    P.HumanParser(network=net, device="cpu")(rgb)
    x = net.seen[0][0]
    assert x.shape == (3, SIZE, SIZE)
    centre = x[:, SIZE // 2, SIZE // 2]
    red_bgr = torch.tensor([0.0, 0.0, 1.0])
    mean, std = torch.tensor(P.MEAN_BGR), torch.tensor(P.STD_BGR)
    torch.testing.assert_close(centre, (red_bgr - mean) / std)
    torch.testing.assert_close(x[:, SIZE // 2, 0], -mean / std)  # the black border at the left


def test_unletterbox_equals_channel_by_channel_warps():
    rng = np.random.default_rng(3)
    for channels in (20, 18, 7):
        logits = rng.normal(size=(64, 64, channels)).astype(np.float32)
        _, inverse = P.letterbox_affine(101, 57, 64)
        ours = P.unletterbox(logits, inverse, 101, 57)
        ref = np.stack(
            [
                cv2.warpAffine(logits[:, :, c], inverse, (57, 101), flags=cv2.INTER_LINEAR, borderValue=0)
                for c in range(channels)
            ],
            axis=2,
        )
        np.testing.assert_array_equal(ours, ref)


class Mirror(nn.Module):
    """Logits that depend on the input's pixels: the same (mirror-sensitive) function for every channel."""

    def forward(self, x):
        ramp = torch.linspace(0, 1, x.shape[-1], device=x.device)
        base = x.mean(1, keepdim=True) + ramp
        fusion = torch.cat([base * (c + 1) * (1 if c % 2 else -1) for c in range(20)], dim=1)
        return [[fusion, fusion], [fusion[:, :2]]]


def test_flip_tta_is_equivariant():
    parser = P.HumanParser(network=Mirror(), device="cpu", flip=True, input_size=32)
    x = torch.randn(2, 3, 32, 32)
    a = parser.letterboxed_logits(x)
    b = parser.letterboxed_logits(x.flip(-1))
    perm = torch.as_tensor(P.DATASETS["lip"].flip_permutation)
    torch.testing.assert_close(b, a[:, perm].flip(-1))


def test_scales_average_and_come_back_at_input_size():
    parser = P.HumanParser(network=Mirror(), device="cpu", scales=(0.5, 1.0, 1.5), input_size=32)
    out = parser.letterboxed_logits(torch.randn(1, 3, 32, 32))
    assert out.shape == (1, 20, 32, 32) and torch.isfinite(out).all()


def test_bad_arguments_are_clear():
    with pytest.raises(PosewarpError, match="unknown parser dataset"):
        P.HumanParser(network=Mirror(), dataset="coco")
    with pytest.raises(PosewarpError, match="scales"):
        P.HumanParser(network=Mirror(), scales=())
    parser = P.HumanParser(network=Mirror(), device="cpu", input_size=32)
    with pytest.raises(PosewarpError, match="uint8 RGB"):
        parser(np.zeros((10, 10), np.uint8))


def test_registry_entries_and_datasets_agree():
    from posewarp import weights as W

    lip = W.REGISTRY["schp-lip"]
    assert lip.filename == "exp-schp-201908261155-lip.pth" and lip.size == 267_449_349
    assert lip.sha256 == "24fa3254ceeb74c8435458994a64b522fb439a3635b7b86ff470457e0413da00"
    for spec in P.DATASETS.values():
        entry = W.REGISTRY[spec.weights]
        assert entry.size and len(entry.sha256) == 64
        assert entry.urls and all(u.startswith("https://huggingface.co/") and "/resolve/main/" in u for u in entry.urls)
        perm = np.array(spec.flip_permutation)
        assert sorted(perm) == list(range(spec.num_classes)) and (perm[perm] == np.arange(spec.num_classes)).all()
    assert P.DATASETS["atr"].labels[P.DATASETS["atr"].flip_permutation[9]] == "right-shoe"
    assert P.label_names("lip", "cihp")[10] == "torso-skin" and P.label_names("lip")[10] == "jumpsuits"
