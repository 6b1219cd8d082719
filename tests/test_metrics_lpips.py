"""LPIPS from random weights saved in the exact public layouts (torchvision AlexNet, v0.1 alex.pth)."""

import pytest
import torch
from torchvision.models import alexnet

from posewarp.errors import PosewarpError
from posewarp.metrics.lpips import CHANNELS, load_lpips


@pytest.fixture(scope="module")
def trunk(tmp_path_factory):
    """torchvision AlexNet's ``features.*`` keys (the loader ignores ``classifier.*``, left out to save 230 MB)."""
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("alexnet") / "alexnet-owt.pth"
    features = alexnet(weights=None).features
    torch.save({f"features.{k}": v for k, v in features.state_dict().items()}, path)
    return path


def _lin_file(tmp_path, lin_value=None):
    torch.manual_seed(0)
    lins = {}
    for i, c in enumerate(CHANNELS):
        w = torch.rand(1, c, 1, 1) if lin_value is None else torch.full((1, c, 1, 1), lin_value)
        lins[f"lin{i}.model.1.weight"] = w
    torch.save(lins, tmp_path / "alex.pth")
    return tmp_path / "alex.pth"


def _images(n=2, seed=1):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, 3, 64, 48, generator=g) * 2 - 1


def test_lpips_zero_for_identical_and_symmetric(tmp_path, trunk):
    model = load_lpips(trunk, _lin_file(tmp_path))
    x, y = _images(seed=1), _images(seed=2)
    with torch.no_grad():
        same, d_xy, d_yx = model(x, x), model(x, y), model(y, x)
    assert same.shape == (2,) and torch.allclose(same, torch.zeros(2))
    assert (d_xy > 0).all() and torch.allclose(d_xy, d_yx)


def test_lpips_formula_with_unit_linear_layers(tmp_path, trunk):
    """With all-ones 1x1 layers LPIPS = sum over taps of mean_hw sum_c (unit-normalised difference)^2."""
    model = load_lpips(trunk, _lin_file(tmp_path, lin_value=1.0))
    features = alexnet(weights=None).features
    features.load_state_dict({k[len("features."):]: v for k, v in torch.load(trunk).items()
                              if k.startswith("features.")})  # fmt: skip
    shift = torch.tensor([-0.030, -0.088, -0.188]).view(1, 3, 1, 1)
    scale = torch.tensor([0.458, 0.448, 0.450]).view(1, 3, 1, 1)
    x, y = _images(1, seed=3), _images(1, seed=4)
    want = 0.0
    a, b = (x - shift) / scale, (y - shift) / scale
    with torch.no_grad():
        for stop, start in zip((2, 5, 8, 10, 12), (0, 2, 5, 8, 10)):
            a, b = features[start:stop](a), features[start:stop](b)
            na = a / (a.norm(dim=1, keepdim=True) + 1e-10)
            nb = b / (b.norm(dim=1, keepdim=True) + 1e-10)
            want += float(((na - nb) ** 2).sum(1).mean())
        got = float(model(x, y)[0])
    assert got == pytest.approx(want, rel=1e-5)


def test_lpips_rejects_wrong_files(tmp_path, trunk):
    lin = _lin_file(tmp_path)
    torch.save({"lin0.model.1.weight": torch.zeros(1, 64, 1, 1)}, tmp_path / "partial.pth")
    with pytest.raises(PosewarpError, match="lin1.model.1.weight"):
        load_lpips(trunk, tmp_path / "partial.pth")
    with pytest.raises(PosewarpError, match="not torchvision's AlexNet"):
        load_lpips(lin, lin)
