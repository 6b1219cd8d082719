"""posewarp eval end to end on tiny folders: the JSON document, stand-in feature extractors for IS and
FID (values computed by hand from the same images), PCKh with planted keypoints, and bad inputs."""

import json
import sys
from dataclasses import replace

import numpy as np
import pytest
import torch

from posewarp.cli.main import main
from posewarp.errors import PosewarpError, WeightsMissingError
from posewarp.formats.images import read_image, write_image
from posewarp.formats.keypoints import write_pairs_csv, write_patn_csv
from posewarp.metrics import fid as FID
from posewarp.metrics.evaluate import evaluate
from posewarp.metrics.inception import prepare
from posewarp.metrics.inception_score import inception_score, softmax
from posewarp.metrics.protocols import GFLA, PATN
from posewarp.metrics.pose_mask import patn_pose_mask
from posewarp.metrics.ssim import GFLA_WIN51, SKIMAGE_014, WANG_GAUSS, ssim

NAMES = ("a", "b", "c", "d")
SIZE = (64, 56)


def _target(i: int) -> np.ndarray:
    kp = np.zeros((18, 3), np.float32)
    kp[0] = (28, 10 + i, 1)  # nose
    kp[1] = (28, 20 + i, 1)  # neck: head box 0 x 10 px with the nose ... plus the eyes below
    kp[14], kp[15] = (24, 8 + i, 1), (32, 8 + i, 1)  # eyes: head box 8 x 12 px
    kp[2], kp[5] = (20, 22, 1), (36, 22, 1)
    kp[8], kp[11] = (24, 40, 1), (32, 40, 1)
    return kp


@pytest.fixture()
def folders(tmp_path):
    rng = np.random.default_rng(0)
    gt, pred = tmp_path / "gt", tmp_path / "pred"
    for name in NAMES:
        real = rng.integers(0, 256, (*SIZE, 3), dtype=np.uint8)
        fake = np.clip(real.astype(int) + rng.integers(-50, 51, real.shape), 0, 255).astype(np.uint8)
        write_image(gt / f"{name}.png", real)
        write_image(pred / f"{name}.png", fake)
    write_patn_csv(tmp_path / "annotations.csv", {f"{n}.png": _target(i) for i, n in enumerate(NAMES)})
    return pred, gt, tmp_path


class StandIn(torch.nn.Module):
    """A feature extractor with the Inception's call signature: pool = per-channel means, logits = fixed map."""

    def __init__(self):
        super().__init__()
        self.register_buffer("w", torch.tensor([[2.0, -1.0, 0.5, 0.0], [0.0, 1.0, -2.0, 1.5], [1.0, 1.0, 1.0, -3.0]]))
        self.register_buffer("b", torch.tensor([0.1, -0.2, 0.3, 0.0]))

    def forward(self, x, *, bias_free_logits=False):
        pool = x.mean(dim=(2, 3))
        logits = pool @ self.w if bias_free_logits else pool @ self.w + self.b
        return pool, logits


def _by_hand_features(folder, how):
    images = [torch.tensor(read_image(folder / f"{n}.png")).permute(2, 0, 1)[None] for n in NAMES]
    x = torch.cat([prepare(im, resize=how.resize, normalize=how.normalize) for im in images])
    return StandIn()(x, bias_free_logits=True)


def _cli_json(capsys, args):
    with pytest.raises(SystemExit) as exc:
        main(["eval", *map(str, args), "--json", "--device", "cpu"])
    out = capsys.readouterr()
    return exc.value.code, out.out, out.err


def _lpips_files(tmp_path):
    from posewarp.metrics.lpips import CHANNELS, alexnet_features

    torch.manual_seed(0)
    torch.save({f"features.{k}": v for k, v in alexnet_features().state_dict().items()}, tmp_path / "alexnet.pth")
    lins = {f"lin{i}.model.1.weight": torch.rand(1, c, 1, 1) for i, c in enumerate(CHANNELS)}
    torch.save(lins, tmp_path / "alex.pth")
    return tmp_path / "alexnet.pth", tmp_path / "alex.pth"


def test_eval_json_document_ssim_mask_ssim_lpips(folders, capsys):
    pred, gt, root = folders
    trunk, lin = _lpips_files(root)
    code, out, err = _cli_json(capsys, ["--pred", pred, "--gt", gt, "--metrics", "ssim,mask-ssim,lpips",
                                        "--keypoints", root / "annotations.csv", "--alexnet-weights", trunk,
                                        "--lpips-weights", lin])  # fmt: skip
    assert code == 0, err
    doc = json.loads(out)
    assert doc["protocol"] == "patn" and doc["pairs"] == 4
    fakes = [read_image(pred / f"{n}.png") for n in NAMES]
    reals = [read_image(gt / f"{n}.png") for n in NAMES]
    want = np.mean([ssim(f, r, SKIMAGE_014) for f, r in zip(fakes, reals)])
    assert doc["metrics"]["ssim"]["value"] == pytest.approx(want, abs=1e-12)
    assert doc["metrics"]["ssim"]["variant"] == "skimage0.14-gauss-sigma1.5"
    assert doc["metrics"]["ssim"]["padded_to_256x256"] == 0  # only 256x176 images are padded
    masks = [patn_pose_mask(_target(i), SIZE)[..., None].astype(np.uint8) for i in range(4)]
    want_mask = np.mean([ssim(f * m, r * m, SKIMAGE_014) for f, r, m in zip(fakes, reals, masks)])
    assert doc["metrics"]["mask-ssim"]["value"] == pytest.approx(want_mask, abs=1e-12)
    assert doc["metrics"]["mask-ssim"]["value"] > doc["metrics"]["ssim"]["value"]  # masked-out zeros agree
    assert 0 < doc["metrics"]["lpips"]["value"] and doc["metrics"]["lpips"]["variant"] == "alex-v0.1"


def test_eval_gfla_reports_both_ssim_variants(folders):
    pred, gt, _ = folders
    doc = evaluate(pred, gt, metrics="ssim", protocol="gfla", show_progress=False)
    assert doc["metrics"]["ssim"]["variant"] == GFLA_WIN51.name
    assert doc["metrics"]["ssim_256"]["variant"] == WANG_GAUSS.name
    assert doc["metrics"]["ssim"]["value"] != doc["metrics"]["ssim_256"]["value"]
    fakes = [read_image(pred / f"{n}.png") for n in NAMES]
    reals = [read_image(gt / f"{n}.png") for n in NAMES]
    want = np.mean([ssim(f, r, GFLA_WIN51) for f, r in zip(fakes, reals)])
    assert doc["metrics"]["ssim"]["value"] == pytest.approx(want, abs=1e-12)


@pytest.mark.parametrize("protocol", [PATN, GFLA])
def test_is_and_fid_with_a_stand_in_extractor(folders, protocol):
    pred, gt, root = folders
    proto = replace(protocol, is_splits=2)
    doc = evaluate(pred, gt, metrics="is,fid", protocol=proto, inception=StandIn(), fid_cache_dir=root / "cache",
                   show_progress=False, device="cpu")  # fmt: skip
    _, logits = _by_hand_features(pred, proto.is_input)
    mean, std = inception_score(softmax(logits.double().numpy()), 2)
    assert doc["metrics"]["is"]["value"] == pytest.approx(mean, rel=1e-6)
    assert doc["metrics"]["is"]["std"] == pytest.approx(std, rel=1e-5, abs=1e-9)
    fake, _ = _by_hand_features(pred, proto.fid_input)
    real, _ = _by_hand_features(gt, proto.fid_input)
    want = FID.frechet_distance(*FID.statistics(fake.double().numpy()), *FID.statistics(real.double().numpy()))
    assert doc["metrics"]["fid"]["value"] == pytest.approx(want, rel=1e-5)
    assert doc["metrics"]["fid"]["real"]["cached"] is False and doc["notes"]  # small-sample FID note
    again = evaluate(pred, gt, metrics="fid", protocol=proto, inception=StandIn(), fid_cache_dir=root / "cache",
                     show_progress=False)  # fmt: skip
    assert again["metrics"]["fid"]["real"]["cached"] is True
    assert again["metrics"]["fid"]["value"] == pytest.approx(doc["metrics"]["fid"]["value"], rel=1e-9)
    stats = next((root / "cache").glob("*.npz"))
    from_npz = evaluate(pred, gt, metrics="fid", protocol=proto, inception=StandIn(), fid_real=stats,
                        show_progress=False)  # fmt: skip
    assert from_npz["metrics"]["fid"]["value"] == pytest.approx(want, rel=1e-5)


def test_fid_real_folder_is_cached_by_image_content(folders):
    pred, gt, root = folders
    real = root / "real"
    for n in NAMES:  # BMP: the file size depends on the picture's size only
        write_image(real / f"{n}.bmp", read_image(gt / f"{n}.png"))
    kwargs = dict(metrics="fid", protocol="gfla", inception=StandIn(), fid_cache_dir=root / "cache",
                  show_progress=False)  # fmt: skip
    first = evaluate(pred, gt, fid_real=real, **kwargs)["metrics"]["fid"]["real"]
    assert (first["origin"], first["count"], first["cached"]) == ("computed", 4, False)
    again = evaluate(pred, gt, fid_real=real, **kwargs)["metrics"]["fid"]["real"]
    assert (again["origin"], again["images_sha256"]) == ("cache", first["images_sha256"])
    write_image(real / "e.bmp", np.zeros((*SIZE, 3), np.uint8))  # a changed folder is a new cache entry
    third = evaluate(pred, gt, fid_real=real, **kwargs)["metrics"]["fid"]["real"]
    assert third["origin"] == "computed" and third["count"] == 5
    # the same name and byte count with other pixels: a content change, not a cache hit
    size = (real / "a.bmp").stat().st_size
    edited = read_image(real / "a.bmp").copy()
    edited[0, 0] = 255 - edited[0, 0]
    write_image(real / "a.bmp", edited)
    assert (real / "a.bmp").stat().st_size == size
    fourth = evaluate(pred, gt, fid_real=real, **kwargs)["metrics"]["fid"]["real"]
    assert fourth["origin"] == "computed" and fourth["images_sha256"] != third["images_sha256"]


def test_fid_cache_is_keyed_by_the_weights_content(folders):
    pred, gt, root = folders
    kwargs = dict(metrics="fid", protocol="gfla", fid_cache_dir=root / "cache", show_progress=False)
    first = evaluate(pred, gt, inception=StandIn(), **kwargs)["metrics"]["fid"]
    other = StandIn()
    other.w.mul_(-1)  # other weights of exactly the same size and layout
    second = evaluate(pred, gt, inception=other, **kwargs)["metrics"]["fid"]
    assert second["real"]["origin"] == "computed" and second["real"]["cache"] != first["real"]["cache"]
    assert second["real"]["weights_sha256"] != first["real"]["weights_sha256"]
    assert evaluate(pred, gt, inception=StandIn(), **kwargs)["metrics"]["fid"]["real"]["origin"] == "cache"


class PlantedEstimator:
    """Returns each target moved by a planted offset: a 3 px miss passes (head box 8 x 12), 5 px does not."""

    def __init__(self, offsets):
        self.offsets, self.calls = list(offsets), 0

    def batch(self, images):
        out = []
        for _ in images:
            kp = _target(self.calls).copy()
            kp[:, 0] += self.offsets[self.calls]
            kp[7] = (40, 30, 1)  # a joint the target lacks: not counted
            out.append(kp[None])
            self.calls += 1
        return out


def test_pckh_with_planted_keypoints(folders):
    pred, gt, root = folders
    doc = evaluate(pred, gt, metrics="pckh", keypoints=root / "annotations.csv",
                   keypoint_estimator=PlantedEstimator([0, 3, 5, 3.9]), show_progress=False)  # fmt: skip
    got = doc["metrics"]["pckh"]
    # head width = 8 (eyes 24..32): |dx| < 4 passes. 8 visible target joints per image; 3 images pass.
    assert (got["correct"], got["total"], got["skipped_pairs"]) == (24, 32, 0)
    assert got["value"] == pytest.approx(0.75)


def test_patn_pairs_file_with_vis_names(tmp_path):
    gt, pred = tmp_path / "gt", tmp_path / "pred"
    img = np.random.default_rng(1).integers(0, 256, (*SIZE, 3), dtype=np.uint8)
    write_image(gt / "s1.jpg", img)
    write_image(gt / "t1.jpg", img)
    write_image(pred / "s1.jpg___t1.jpg_vis.png", img)
    write_pairs_csv(tmp_path / "pairs.csv", [("s1.jpg", "t1.jpg")])
    doc = evaluate(pred, gt, metrics="ssim", pairs=tmp_path / "pairs.csv", show_progress=False)
    want = ssim(read_image(pred / "s1.jpg___t1.jpg_vis.png"), read_image(gt / "t1.jpg"), SKIMAGE_014)
    assert doc["pairs"] == 1 and doc["metrics"]["ssim"]["value"] == pytest.approx(want, abs=1e-12)
    (tmp_path / "map.csv").write_text("pred,gt\ns1.jpg___t1.jpg_vis.png,t1.jpg\n")
    assert evaluate(pred, gt, metrics="ssim", pairs=tmp_path / "map.csv", show_progress=False)["pairs"] == 1
    write_pairs_csv(tmp_path / "bad.csv", [("s1.jpg", "t1.jpg"), ("s2.jpg", "t1.jpg")])
    with pytest.raises(PosewarpError, match="1 of 2 pairs have no generated image.*s2.jpg___t1.jpg.*--allow-missing"):
        evaluate(pred, gt, metrics="ssim", pairs=tmp_path / "bad.csv", show_progress=False)


def test_bad_inputs_fail_clearly(folders, capsys, tmp_path, monkeypatch):
    pred, gt, root = folders
    write_image(pred / "zzz.png", np.zeros((*SIZE, 3), np.uint8))
    code, out, err = _cli_json(capsys, ["--pred", pred, "--gt", gt, "--metrics", "ssim"])
    assert code == 1 and out == ""
    assert "1 of 5 generated images have no ground truth" in err and "'zzz'" in err and "--pairs" in err
    (pred / "zzz.png").unlink()

    empty = tmp_path / "empty"
    empty.mkdir()
    code, _, err = _cli_json(capsys, ["--pred", empty, "--gt", gt, "--metrics", "ssim"])
    assert code == 1 and "no images in the generated folder" in err

    code, _, err = _cli_json(capsys, ["--pred", pred, "--gt", gt, "--metrics", "ssim,psnr"])
    assert code == 2 and "psnr" in err

    with pytest.raises(PosewarpError, match="at least 10 images"):
        evaluate(pred, gt, metrics="is", show_progress=False)
    with pytest.raises(PosewarpError, match="--keypoints"):
        evaluate(pred, gt, metrics="mask-ssim", show_progress=False)
    write_patn_csv(root / "partial.csv", {"a.png": _target(0)})
    with pytest.raises(PosewarpError, match="no keypoints for 3"):
        evaluate(pred, gt, metrics="mask-ssim", keypoints=root / "partial.csv", show_progress=False)
    monkeypatch.setenv("POSEWARP_HOME", str(tmp_path / "home"))
    with pytest.raises(WeightsMissingError, match="posewarp weights download inception-fid.*--inception-weights"):
        evaluate(pred, gt, metrics="fid", show_progress=False)
    small = tmp_path / "small"
    for name in ("p", "q"):
        write_image(small / f"{name}.png", np.zeros((40, 40, 3), np.uint8))
    with pytest.raises(PosewarpError, match="smaller than the 51x51 SSIM window"):
        evaluate(small, small, metrics="ssim", protocol="gfla", show_progress=False)
    write_image(pred / "a.png", np.zeros((32, 32, 3), np.uint8))
    with pytest.raises(PosewarpError, match="generated image is 32x32 but its ground truth a.png is 56x64"):
        evaluate(pred, gt, metrics="ssim", pred_layout="picture", show_progress=False)
    with pytest.raises(PosewarpError, match="32 px wide and its ground truth 56 px: not a picture"):
        evaluate(pred, gt, metrics="ssim", show_progress=False)  # auto: the width fits no published layout


def test_patn_pads_256x176_for_ssim_and_is_but_not_fid(tmp_path):
    rng = np.random.default_rng(2)
    for name in ("p", "q"):
        real = rng.integers(0, 256, (256, 176, 3), dtype=np.uint8)
        write_image(tmp_path / "gt" / f"{name}.png", real)
        write_image(tmp_path / "pred" / f"{name}.png", 255 - real)
    proto = replace(PATN, is_splits=2)
    doc = evaluate(tmp_path / "pred", tmp_path / "gt", metrics="ssim,is,fid", protocol=proto, inception=StandIn(),
                   fid_cache_dir=tmp_path / "cache", show_progress=False)  # fmt: skip
    fakes = [read_image(tmp_path / "pred" / f"{n}.png") for n in ("p", "q")]
    reals = [read_image(tmp_path / "gt" / f"{n}.png") for n in ("p", "q")]
    from posewarp.metrics.ssim import pad_width

    want = np.mean([ssim(pad_width(f), pad_width(r), SKIMAGE_014) for f, r in zip(fakes, reals)])
    assert doc["metrics"]["ssim"]["value"] == pytest.approx(want, abs=1e-12)
    assert doc["metrics"]["ssim"]["padded_to_256x256"] == 2 and doc["metrics"]["is"]["padded_to_256x256"] == 2
    x = torch.cat([prepare(torch.tensor(pad_width(f)).permute(2, 0, 1)[None], resize="tf1-bilinear", normalize="tf")
                   for f in fakes])  # fmt: skip
    mean, _ = inception_score(softmax(StandIn()(x, bias_free_logits=True)[1].double().numpy()), 2)
    assert doc["metrics"]["is"]["value"] == pytest.approx(mean, rel=1e-6)


def test_default_fid_real_set_counts_each_ground_truth_once(folders):
    pred, gt, root = folders
    write_image(pred / "a___c.png", read_image(pred / "a.png"))
    (root / "map.csv").write_text("pred,gt\na.png,a.png\nb.png,b.png\na___c.png,b.png\n")
    doc = evaluate(pred, gt, metrics="fid", pairs=root / "map.csv", protocol="gfla", inception=StandIn(),
                   fid_cache_dir=root / "cache", show_progress=False)  # fmt: skip
    assert doc["pairs"] == 3 and doc["metrics"]["fid"]["real"]["count"] == 2
    real, _ = _by_hand_features(gt, GFLA.fid_input)
    fake, _ = _by_hand_features(pred, GFLA.fid_input)
    want = FID.frechet_distance(*FID.statistics(fake[[0, 1, 0]].double().numpy()),
                                *FID.statistics(real[[0, 1]].double().numpy()))  # fmt: skip
    assert doc["metrics"]["fid"]["value"] == pytest.approx(want, rel=1e-5)


def test_cli_table_lists_every_metric(folders, capsys, monkeypatch):
    pred, gt, root = folders
    doc = evaluate(pred, gt, metrics="ssim,is,fid,pckh", protocol=replace(PATN, is_splits=2), inception=StandIn(),
                   keypoints=root / "annotations.csv", keypoint_estimator=PlantedEstimator([0, 0, 0, 9]),
                   fid_cache_dir=root / "cache", show_progress=False)  # fmt: skip
    module = sys.modules["posewarp.metrics.evaluate"]
    monkeypatch.setattr(module, "evaluate", lambda *a, **k: doc)
    with pytest.raises(SystemExit) as exc:
        main(["eval", "--pred", str(pred), "--gt", str(gt), "--metrics", "ssim,is,fid,pckh"])
    err = capsys.readouterr().err
    assert exc.value.code == 0
    for text in ("ssim", "skimage0.14-gauss-sigma1.5", "2 splits", "real:", "24/32 joints", "note:"):
        assert text in err


def test_full_float32_turns_tf32_off_and_restores():
    from posewarp.metrics.evaluate import full_float32

    conv = getattr(torch.backends.cudnn, "conv", None)
    if conv is None or not hasattr(conv, "fp32_precision"):
        pytest.skip("PyTorch without the fp32_precision API")
    before = (conv.fp32_precision, torch.backends.cuda.matmul.fp32_precision)
    with full_float32():
        assert (conv.fp32_precision, torch.backends.cuda.matmul.fp32_precision) == ("ieee", "ieee")
    assert (conv.fp32_precision, torch.backends.cuda.matmul.fp32_precision) == before
    assert isinstance(torch.backends.cudnn.allow_tf32, bool)  # the legacy getter still works afterwards


def test_mask_is_scores_the_masked_generated_images(folders):
    pred, gt, root = folders
    proto = replace(PATN, is_splits=2)
    doc = evaluate(pred, gt, metrics="is,mask-is", protocol=proto, inception=StandIn(),
                   keypoints=root / "annotations.csv", show_progress=False)  # fmt: skip
    masked = []
    for i, n in enumerate(NAMES):
        mask = patn_pose_mask(_target(i), SIZE)[..., None].astype(np.uint8)
        masked.append(torch.tensor(read_image(pred / f"{n}.png") * mask).permute(2, 0, 1)[None])
    x = torch.cat([prepare(m, resize="tf1-bilinear", normalize="tf") for m in masked])
    mean, std = inception_score(softmax(StandIn()(x, bias_free_logits=True)[1].double().numpy()), 2)
    assert doc["metrics"]["mask-is"]["value"] == pytest.approx(mean, rel=1e-6)
    assert abs(doc["metrics"]["mask-is"]["value"] - doc["metrics"]["is"]["value"]) > 1e-5


def test_keypoints_from_a_body25_folder_with_two_people_and_out_of_image_points(folders, capsys):
    pred, gt, root = folders
    folder = root / "openpose"
    folder.mkdir()
    for i, name in enumerate(NAMES):
        body25 = np.zeros((2, 25, 3), np.float32)
        body25[1, [0, 1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18]] = _target(i)
        body25[0, :2] = (5, 5, 0.9), (6, 6, 0.9)  # a tiny second detection: not the largest
        people = [{"pose_keypoints_2d": p.ravel().tolist()} for p in body25]
        (folder / f"{name}_keypoints.json").write_text(json.dumps({"version": 1.3, "people": people}))
    by_csv = evaluate(pred, gt, metrics="mask-ssim", keypoints=root / "annotations.csv", show_progress=False)
    code, out, err = _cli_json(capsys, ["--pred", pred, "--gt", gt, "--metrics", "mask-ssim", "--keypoints", folder])
    assert code == 0, err
    doc = json.loads(out)
    assert doc["metrics"]["mask-ssim"]["value"] == by_csv["metrics"]["mask-ssim"]["value"]
    assert any("4 images had several people" in n and "largest" in n for n in doc["notes"])
    far = _target(0)
    far[2, 0] = SIZE[1] + 5  # the right shoulder 5 px beyond the 56 px wide ground truth
    write_patn_csv(root / "far.csv", {f"{n}.png": far for n in NAMES})
    code, _, err = _cli_json(capsys, ["--pred", pred, "--gt", gt, "--metrics", "mask-ssim", "--keypoints",
                                      root / "far.csv"])  # fmt: skip
    assert code == 1 and "keypoints of a.png: person 0: right_shoulder at (61.0, 22.0) lies outside the 64x56" in err
