"""VGG taps: layer naming, torchvision-format loading from a path, the missing-weights error, frozen parameters."""

import pytest
import torch
from torch import nn

from posewarp.errors import PosewarpError, WeightsMissingError
from posewarp.nn import VGGFeatures
from posewarp.nn.vgg import vgg_features, vgg_layer_names


def layer_names(features: nn.Sequential) -> list[str]:
    """Names (conv1_1, relu1_1, ..., pool1, ...) of the modules of a torchvision VGG ``features``."""
    names, block, idx = [], 1, 0
    for m in features:
        if isinstance(m, nn.Conv2d):
            idx += 1
            names.append(f"conv{block}_{idx}")
        elif isinstance(m, nn.ReLU):
            names.append(f"relu{block}_{idx}")
        elif isinstance(m, nn.MaxPool2d):
            names.append(f"pool{block}")
            block, idx = block + 1, 0
    return names


def test_layer_names_follow_the_vgg_blocks():
    from torchvision.models.vgg import cfgs, make_layers

    with torch.device("meta"):  # the real torchvision modules, built without memory or init cost
        names = layer_names(make_layers(cfgs["E"]))
        names16 = layer_names(make_layers(cfgs["D"]))
    assert names.index("relu1_1") == 1 and names.index("relu2_1") == 6 and names.index("relu5_1") == 29
    assert names16.index("pool4") == 23 and names16[-1] == "pool5"
    assert tuple(names) == vgg_layer_names("vgg19") and tuple(names16) == vgg_layer_names("vgg16")
    assert [type(m) for m in vgg_features("vgg19", 7)] == [type(m) for m in make_layers(cfgs["E"])[:7]]


def test_random_vgg19_taps_and_frozen():
    torch.manual_seed(0)
    vgg = VGGFeatures(random_init=True)
    feats = vgg(torch.rand(2, 3, 32, 32) * 2 - 1)
    assert [tuple(f.shape[1:]) for f in feats] == [(64, 32, 32), (128, 16, 16), (256, 8, 8), (512, 4, 4), (512, 2, 2)]
    assert all((f >= 0).all() for f in feats)  # ReLU outputs, not overwritten in place
    assert not any(p.requires_grad for p in vgg.parameters())
    assert len(vgg.features) == 30  # nothing past relu5_1 is built


def test_missing_weights_name_the_download_command(tmp_path):
    with pytest.raises(WeightsMissingError, match="posewarp weights download vgg19"):
        VGGFeatures()
    with pytest.raises(WeightsMissingError, match="posewarp weights download vgg19") as info:
        VGGFeatures(weights=tmp_path / "vgg19-dcbb9e9d.pth")
    assert info.value.path.endswith("vgg19-dcbb9e9d.pth")


def test_loads_a_torchvision_state_dict_from_a_path(tmp_path):
    torch.manual_seed(1)
    # a seeded stand-in in the torchvision key layout, holding only the layers up to relu2_1
    ref = {f"features.{k}": v for k, v in vgg_features("vgg19")[:7].state_dict().items()}
    state = {k: v for k, v in ref.items() if k.startswith(("features.0.", "features.2.", "features.5."))}
    path = tmp_path / "vgg19-dcbb9e9d.pth"
    torch.save(state, path)
    vgg = VGGFeatures(layers=("relu1_1", "relu2_1"), weights=path)
    assert vgg.pretrained
    assert torch.equal(vgg.features[5].weight, ref["features.5.weight"])
    x = torch.rand(1, 3, 16, 16) * 2 - 1
    y = (x + 1) / 2
    y = (y - torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)) / torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    expected = torch.relu(torch.nn.functional.conv2d(y, ref["features.0.weight"], ref["features.0.bias"], padding=1))
    assert torch.allclose(vgg(x)[0], expected, atol=1e-5)
    with pytest.raises(PosewarpError, match="features.7.weight is missing"):
        VGGFeatures(layers=("relu2_2",), weights=path)
    bad = tmp_path / "bad.pth"
    torch.save({**state, "features.0.weight": torch.zeros(64, 3, 5, 5)}, bad)
    with pytest.raises(PosewarpError, match="shape"):
        VGGFeatures(layers=("relu1_1",), weights=bad)
    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"not a checkpoint")
    with pytest.raises(PosewarpError, match="cannot read"):
        VGGFeatures(layers=("relu1_1",), weights=junk)


def test_unknown_layer_is_rejected():
    with pytest.raises(ValueError, match="relu9_9"):
        VGGFeatures(layers=("relu9_9",), random_init=True)
