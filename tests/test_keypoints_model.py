"""OpenPose body network: strict loading of the public key layouts, the estimator pipeline, the command."""

import json

import cv2
import numpy as np
import pytest
import torch
from cli_runner import cli
from torch import nn

from posewarp.errors import PosewarpError
from posewarp.formats import images
from posewarp.formats import keypoints as K
from posewarp.preprocess import keypoints as KP
from posewarp.preprocess import openpose_net as N


@pytest.fixture(scope="module")
def seeded():
    """A seeded full-size network and its weights saved once in the public flat layout (~200 MB)."""
    torch.manual_seed(0)
    net = N.BodyPoseNet().eval()
    return net, N.flat_state_dict(net)


@pytest.fixture(scope="module")
def flat_file(seeded, tmp_path_factory):
    path = tmp_path_factory.mktemp("weights") / "body_pose_model.pth"
    torch.save(seeded[1], path)
    return path


def test_architecture_matches_the_public_file_layout(seeded):
    _, flat = seeded
    assert len(flat) == 184 and sum(v.numel() for v in flat.values()) == 52_311_446
    keys = list(flat)
    assert keys[:2] == ["conv1_1.weight", "conv1_1.bias"] and keys[-1] == "Mconv7_stage6_L2.bias"
    assert flat["Mconv1_stage2_L1.weight"].shape == (128, 185, 7, 7)
    assert flat["conv5_5_CPM_L2.weight"].shape == (19, 512, 1, 1)
    assert flat["Mconv7_stage6_L1.weight"].shape == (38, 128, 1, 1)


def test_key_aliases_follow_the_tensorboy_map():
    aliases = N.key_aliases()
    # rows of reference/tensorboy_to_flat_keymap.tsv
    for numeric, flat, module in [
        ("model0.0.weight", "conv1_1.weight", "model0.conv1_1.weight"),
        ("model0.5.bias", "conv2_1.bias", "model0.conv2_1.bias"),
        ("model0.19.weight", "conv4_1.weight", "model0.conv4_1.weight"),
        ("model0.25.bias", "conv4_4_CPM.bias", "model0.conv4_4_CPM.bias"),
        ("model1_1.8.weight", "conv5_5_CPM_L1.weight", "model1_1.conv5_5_CPM_L1.weight"),
        ("model2_1.12.weight", "Mconv7_stage2_L1.weight", "model2_1.Mconv7_stage2_L1.weight"),
        ("model6_2.10.bias", "Mconv6_stage6_L2.bias", "model6_2.Mconv6_stage6_L2.bias"),
    ]:
        assert aliases[numeric] == aliases[flat] == aliases[module] == module


def test_flat_file_loads_strictly_and_reproduces_the_network(seeded, flat_file):
    net, _ = seeded
    loaded = N.load_body_pose_weights(flat_file)
    x = torch.randn(1, 3, 48, 40, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        paf, heat = net(x)
        paf2, heat2 = loaded(x)
    assert paf.shape == (1, 38, 6, 5) and heat.shape == (1, 19, 6, 5)
    assert torch.equal(paf, paf2) and torch.equal(heat, heat2)


def test_module_and_tensorboy_layouts_load(seeded):
    net, flat = seeded
    module_keys = net.state_dict()
    assert list(N.remap_state_dict(dict(module_keys))) == list(module_keys)
    aliases = N.key_aliases()
    numeric = {k: v for k, v in aliases.items() if k.split(".")[1].isdigit()}
    inverse = {module: k for k, module in numeric.items()}
    tensorboy = {inverse[k]: v for k, v in module_keys.items()}
    assert "model0.25.weight" in tensorboy and "model6_2.12.bias" in tensorboy
    remapped = N.remap_state_dict(tensorboy)
    assert all(remapped[k] is module_keys[k] for k in module_keys)
    wrapped = {"state_dict": {f"module.{k}": v for k, v in flat.items()}}
    assert len(N.remap_state_dict(wrapped)) == 184
    del tensorboy["model3_2.4.bias"]
    with pytest.raises(PosewarpError, match=r"missing model3_2\.4\.bias"):
        N.remap_state_dict(tensorboy)


def test_broken_files_give_a_clear_error(seeded, tmp_path):
    _, flat = seeded
    broken = dict(flat)
    del broken["conv2_1.bias"]
    broken["conv1_1.weight"] = torch.zeros(64, 4, 3, 3)
    broken["extra.weight"] = torch.zeros(1)
    with pytest.raises(PosewarpError) as info:
        N.remap_state_dict(broken, "x.pth")
    message = str(info.value)
    assert message.startswith("x.pth: not a matching OpenPose COCO body model")
    assert "missing conv2_1.bias" in message  # named in the file's own (flat) layout
    assert "conv1_1.weight (64, 4, 3, 3) (expected (64, 3, 3, 3))" in message
    assert "unexpected extra.weight" in message
    few = {k: v for k, v in list(flat.items())[:10]}
    assert "(174 in all)" in str(pytest.raises(PosewarpError, N.remap_state_dict, few).value)
    garbage = tmp_path / "garbage.pth"
    garbage.write_bytes(b"definitely not a checkpoint")
    with pytest.raises(PosewarpError, match="cannot read"):
        N.load_body_pose_weights(garbage)
    listed = tmp_path / "list.pth"
    torch.save([1, 2, 3], listed)
    with pytest.raises(PosewarpError, match="dict of tensors"):
        N.load_body_pose_weights(listed)


def test_final_heatmap_relu_quirk(seeded):
    net, _ = seeded
    x = torch.randn(2, 3, 32, 24, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        paf, heat = net(x)
        net.final_relu = False
        _, raw = net(x)
        net.final_relu = True
    assert heat.min() >= 0 and raw.min() < 0 and paf.min() < 0
    assert torch.equal(heat, raw.clamp(min=0))


def test_preprocessing_follows_the_reference():
    rgb = np.zeros((50, 30, 3), np.uint8)
    rgb[..., 2] = 200  # blue
    inp, size = KP.prepare(rgb, 0.5)  # height 50 -> 184 (0.5 * 368), width 30 -> round(30 * 3.68) = 110
    assert size == (184, 110) and inp.shape == (3, 184, 112) and inp.dtype == np.float32
    assert np.allclose(inp[0, :, :110], 200 / 256 - 0.5) and np.allclose(inp[2, :, :110], -0.5)  # BGR
    assert np.all(inp[:, :, 110:] == 0.0)  # padding value 128 -> 128/256 - 0.5


class ToyNet(nn.Module):
    """Input-dependent maps at stride 8, cheap enough to test batching and averaging exactly."""

    def __init__(self, constant=None):
        super().__init__()
        torch.manual_seed(3)
        self.conv = nn.Conv2d(3, 57, 3, padding=1)
        self.constant = constant

    def forward(self, x):
        out = nn.functional.avg_pool2d(self.conv(x), 8)
        if self.constant is not None:
            out = torch.full_like(out, self.constant)
        return out[:, :38], torch.relu(out[:, 38:])


def test_batching_equals_one_image_at_a_time():
    rng = np.random.default_rng(0)
    imgs = [rng.integers(0, 255, shape, dtype=np.uint8) for shape in [(40, 24, 3), (40, 24, 3), (30, 30, 3)]]
    est = KP.KeypointEstimator(net=ToyNet(), device="cpu", scales=(0.5, 1.0), batch_size=2)
    together = est.maps(imgs)
    for rgb, (heat, paf) in zip(imgs, together):
        heat1, paf1 = est.maps([rgb])[0]
        assert heat.shape == (*rgb.shape[:2], 19) and paf.shape == (*rgb.shape[:2], 38)
        np.testing.assert_allclose(heat, heat1, atol=1e-6)
        np.testing.assert_allclose(paf, paf1, atol=1e-6)


def test_several_scales_are_averaged_not_doubled():
    rgb = np.full((40, 24, 3), 90, np.uint8)
    for scales in [(0.5,), (0.5, 1.0, 1.5, 2.0)]:
        heat, paf = KP.KeypointEstimator(net=ToyNet(constant=0.7), device="cpu", scales=scales).maps([rgb])[0]
        np.testing.assert_allclose(heat, 0.7, atol=1e-5)  # the port's accumulation would give up to 8x
        np.testing.assert_allclose(paf, 0.7, atol=1e-5)


def test_estimator_checks_its_input_and_options():
    with pytest.raises(PosewarpError, match="scales"):
        KP.KeypointEstimator(net=ToyNet(), device="cpu", scales=(0.0,))
    est = KP.KeypointEstimator(net=ToyNet(), device="cpu")
    with pytest.raises(PosewarpError, match="uint8"):
        est(np.zeros((10, 10), np.uint8))
    assert est(np.zeros((16, 16, 3), np.uint8)).shape == (0, 18, 3)


def test_command_end_to_end(flat_file, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("POSEWARP_HOME", str(tmp_path / "empty-home"))
    src, out = tmp_path / "images", tmp_path / "out"
    rng = np.random.default_rng(0)
    for rel, shape in [("a.png", (48, 32)), ("b.png", (48, 32)), ("sub/c.jpg", (40, 40))]:
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        images.write_image(src / rel, rng.integers(0, 255, (*shape, 3), dtype=np.uint8))
    (src / "corrupt.jpg").write_bytes(images.encode_image(np.zeros((20, 20, 3), np.uint8), ".jpg")[:40])
    (src / "text.png").write_text("hello")

    code, _, err = cli(["keypoints", src, "--out", out], capsys)
    assert code == 1 and "posewarp weights download openpose" in err  # nothing downloads implicitly

    # --scales 0.15: the random network on 56 px high inputs keeps the test fast
    args = ["keypoints", src, "--out", out, "--weights", flat_file, "--device", "cpu", "--json", "--scales", "0.15"]
    code, stdout, _ = cli(args + ["--annotations", tmp_path / "ann.csv", "--overlay", tmp_path / "ov"], capsys)
    doc = json.loads(stdout)
    assert code == 0 and doc["done"] == 3 and doc["skipped"] == 0
    assert sorted(f["name"] for f in doc["failed"]) == ["corrupt.jpg", "text.png"]
    found = 0
    for rel in ["a.json", "b.json", "sub/c.json"]:
        raw = json.loads((out / rel).read_text())
        assert raw["version"] == 1.3 and isinstance(raw["people"], list)
        found += len(K.read_openpose_json(out / rel))
    assert doc["people found"] == found
    assert (tmp_path / "ov" / "sub" / "c.png").is_file()
    assert sorted(K.read_patn_csv(tmp_path / "ann.csv")) == ["a.png", "b.png", "sub/c.jpg"]

    code, stdout, _ = cli(args, capsys)  # resume: everything done is skipped, the bad files fail again
    doc = json.loads(stdout)
    assert code == 0 and doc["done"] == 0 and doc["skipped"] == 3 and len(doc["failed"]) == 2

    code, stdout, _ = cli(["keypoints", src, "--out", tmp_path / "shard", "--weights", flat_file, "--shard", "1/2",
                           "--json", "--scales", "0.15,0.2"], capsys)  # fmt: skip
    doc = json.loads(stdout)  # sorted: a.png, b.png, corrupt.jpg, sub/c.jpg, text.png -> shard 1 = b.png, sub/c.jpg
    assert code == 0 and doc["done"] == 2 and not doc["failed"]
    assert sorted(p.name for p in (tmp_path / "shard").rglob("*.json")) == ["b.json", "c.json"]

    bad_only = tmp_path / "bad-only"
    bad_only.mkdir()
    (bad_only / "x.png").write_text("nope")
    args = ["keypoints", bad_only, "--out", tmp_path / "o2", "--weights", flat_file, "--scales", "0.15"]
    code, _, err = cli(args, capsys)
    assert code == 1 and "no image could be processed" in err
    code, _, err = cli(["keypoints", src, "--out", out, "--shard", "2/2"], capsys)
    assert code == 2


def reference_maps(net, bgr):
    """pytorch-openpose Body.__call__ up to the maps, transcribed for one scale (0.5) from reference A.5."""
    scale = 0.5 * 368 / bgr.shape[0]
    img = cv2.resize(bgr, (0, 0), fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
    h, w = img.shape[:2]
    down, right = (0 if h % 8 == 0 else 8 - h % 8), (0 if w % 8 == 0 else 8 - w % 8)
    img = np.concatenate((img, np.tile(img[-1:, :, :] * 0 + 128, (down, 1, 1))), axis=0)
    img = np.concatenate((img, np.tile(img[:, -1:, :] * 0 + 128, (1, right, 1))), axis=1)
    x = np.transpose(np.float32(img[:, :, :, np.newaxis]), (3, 2, 0, 1)) / 256 - 0.5
    with torch.no_grad():
        paf, heat = net(torch.from_numpy(np.ascontiguousarray(x)))
    out = []
    for m in (heat, paf):
        m = np.transpose(np.squeeze(m.numpy()), (1, 2, 0))
        m = cv2.resize(m, (0, 0), fx=8, fy=8, interpolation=cv2.INTER_CUBIC)
        m = m[: img.shape[0] - down, : img.shape[1] - right, :]
        m = cv2.resize(m, (bgr.shape[1], bgr.shape[0]), interpolation=cv2.INTER_CUBIC)
        avg = np.zeros(m.shape)
        avg += avg + m / 1  # the port's accumulation, exact for one scale
        out.append(avg)
    return out, x[0]


def test_maps_equal_the_reference_pipeline():
    """Same steps as the port. The network input is the same numpy arithmetic on both sides (bit for bit); the
    network itself may run in another memory format, whose kernels can round differently on another CPU, so the
    maps agree to float32 rounding (about 1e-7 was seen on an AMD EPYC), not bit for bit."""
    rng = np.random.default_rng(4)
    net = ToyNet()
    for shape in [(37, 23, 3), (64, 48, 3)]:
        rgb = rng.integers(0, 255, shape, dtype=np.uint8)
        est = KP.KeypointEstimator(net=net, device="cpu")
        heat, paf = est.maps([rgb])[0]
        (ref_heat, ref_paf), ref_input = reference_maps(net, rgb[:, :, ::-1].copy())
        assert np.array_equal(KP.prepare(rgb, 0.5)[0], ref_input)
        np.testing.assert_allclose(heat, ref_heat, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(paf, ref_paf, rtol=1e-5, atol=1e-6)
        again = est.maps([rgb])[0]  # the same code twice: bit for bit
        assert np.array_equal(again[0], heat) and np.array_equal(again[1], paf)
