"""No silent subsets in ``posewarp eval``: missing generated images, targets without keypoints, alpha."""

import json

import numpy as np
import pytest
from PIL import Image

from posewarp.cli.main import main
from posewarp.errors import PosewarpError
from posewarp.formats.images import read_image, write_image
from posewarp.formats.keypoints import write_pairs_csv, write_patn_csv
from posewarp.metrics.evaluate import evaluate
from posewarp.metrics.pose_mask import patn_pose_mask
from posewarp.metrics.ssim import SKIMAGE_014, ssim

SIZE = (48, 40)


def _pose(dx: int) -> np.ndarray:
    kp = np.zeros((18, 3), np.float32)
    kp[1], kp[2], kp[5] = (20 + dx, 10, 1), (14 + dx, 12, 1), (26 + dx, 12, 1)
    kp[8], kp[11] = (16 + dx, 30, 1), (24 + dx, 30, 1)
    return kp


def _folders(tmp_path, names=("a", "b", "c", "d"), drop=()):
    rng = np.random.default_rng(3)
    for n in names:
        real = rng.integers(0, 256, (*SIZE, 3), dtype=np.uint8)
        write_image(tmp_path / "gt" / f"{n}.png", real)
        if n not in drop:
            fake = np.clip(real.astype(int) + rng.integers(-60, 61, real.shape), 0, 255).astype(np.uint8)
            write_image(tmp_path / "pred" / f"{n}.png", fake)
    return tmp_path / "pred", tmp_path / "gt"


def _cli(capsys, args):
    with pytest.raises(SystemExit) as exc:
        main(["eval", *map(str, args), "--device", "cpu"])
    out = capsys.readouterr()
    return exc.value.code, out.out, out.err


def test_a_ground_truth_without_its_generated_image_is_an_error(tmp_path, capsys):
    pred, gt = _folders(tmp_path, drop=("c",))
    code, out, err = _cli(capsys, ["--pred", pred, "--gt", gt, "--metrics", "ssim", "--json"])
    assert code == 1 and out == "" and "Traceback" not in err
    assert "1 of 4 ground-truth images have no generated image" in err and "'c.png'" in err
    assert "--allow-missing" in err


def test_allow_missing_scores_the_rest_and_counts_them(tmp_path, capsys):
    pred, gt = _folders(tmp_path, drop=("b", "c"))
    code, out, err = _cli(capsys, ["--pred", pred, "--gt", gt, "--metrics", "ssim", "--json", "--allow-missing"])
    assert code == 0, err
    doc = json.loads(out)
    assert (doc["pairs"], doc["expected_pairs"]) == (2, 4)
    assert doc["missing"] == {"count": 2, "names": ["b.png", "c.png"]}
    assert any("2 of 4 pairs have no generated image" in n for n in doc["notes"])
    want = np.mean([ssim(read_image(pred / f"{n}.png"), read_image(gt / f"{n}.png"), SKIMAGE_014) for n in "ad"])
    assert doc["metrics"]["ssim"]["value"] == pytest.approx(want, rel=1e-12)
    code, _, err = _cli(capsys, ["--pred", pred, "--gt", gt, "--metrics", "ssim", "--allow-missing"])
    assert code == 0 and "2 pairs (2 missing)" in err


def test_pairs_file_rows_without_a_generated_image(tmp_path):
    pred, gt = _folders(tmp_path, names=("s", "t", "u"), drop=("s", "t", "u"))
    write_image(pred / "s___t.png", read_image(gt / "t.png"))
    write_pairs_csv(tmp_path / "pairs.csv", [("s", "t"), ("s", "u"), ("t", "u")])
    with pytest.raises(PosewarpError, match=r"2 of 3 pairs have no generated image.*'s___u', 't___u'"):
        evaluate(pred, gt, metrics="ssim", pairs=tmp_path / "pairs.csv", show_progress=False)
    doc = evaluate(pred, gt, metrics="ssim", pairs=tmp_path / "pairs.csv", allow_missing=True, show_progress=False)
    assert (doc["pairs"], doc["missing"]["count"]) == (1, 2) and doc["metrics"]["ssim"]["value"] == pytest.approx(1.0)


def test_targets_without_keypoints_are_skipped_and_counted(tmp_path):
    pred, gt = _folders(tmp_path)
    poses = {"a.png": _pose(0), "b.png": np.zeros((18, 3), np.float32), "c.png": _pose(3), "d.png": _pose(-2)}
    write_patn_csv(tmp_path / "kp.csv", poses)
    doc = evaluate(pred, gt, metrics="ssim,mask-ssim", keypoints=tmp_path / "kp.csv", show_progress=False)
    got = doc["metrics"]["mask-ssim"]
    assert (got["count"], got["skipped_empty_mask"], got["mask"]) == (3, 1, "pg2-produce-ma-mask")
    want = []
    for n in "acd":
        m = patn_pose_mask(poses[f"{n}.png"], SIZE)[..., None].astype(np.uint8)
        want.append(ssim(read_image(pred / f"{n}.png") * m, read_image(gt / f"{n}.png") * m, SKIMAGE_014))
    assert got["value"] == pytest.approx(np.mean(want), rel=1e-12)
    assert got["value"] < 1.0 and any("1 of 4 targets have no keypoints" in n for n in doc["notes"])
    write_patn_csv(tmp_path / "none.csv", {k: np.zeros((18, 3), np.float32) for k in poses})
    empty = evaluate(pred, gt, metrics="mask-ssim", keypoints=tmp_path / "none.csv", show_progress=False)
    assert empty["metrics"]["mask-ssim"]["value"] is None and empty["metrics"]["mask-ssim"]["count"] == 0


def test_alpha_is_dropped_like_the_libraries_not_composited(tmp_path):
    pred, gt = _folders(tmp_path, names=("a", "b"))
    rgb = read_image(pred / "a.png")
    alpha = np.zeros((*SIZE, 1), np.uint8)  # fully transparent: composited on white it would be all 255
    Image.fromarray(np.concatenate([rgb, alpha], -1), "RGBA").save(pred / "a.png")
    doc = evaluate(pred, gt, metrics="ssim", show_progress=False)
    want = np.mean([ssim(rgb, read_image(gt / "a.png"), SKIMAGE_014),
                    ssim(read_image(pred / "b.png"), read_image(gt / "b.png"), SKIMAGE_014)])  # fmt: skip
    assert doc["metrics"]["ssim"]["value"] == pytest.approx(want, rel=1e-12)
    assert np.array_equal(np.asarray(Image.open(pred / "a.png").convert("RGB")), rgb)  # what pytorch-fid reads
    assert (read_image(pred / "a.png") == 255).all()  # the rest of posewarp still composites on white


def test_person_aware_metrics_on_deepfashion_sized_images(tmp_path):
    # PATN reported mask-SSIM for Market only; it is offered for 256x176 DeepFashion crops too (no padding:
    # the mask already removes the background that PATN's white bars would add)
    rng = np.random.default_rng(4)
    poses = {}
    for i, n in enumerate(("a", "b")):
        real = rng.integers(0, 256, (256, 176, 3), dtype=np.uint8)
        write_image(tmp_path / "gt" / f"{n}.png", real)
        write_image(tmp_path / "pred" / f"{n}.png", 255 - real)
        poses[f"{n}.png"] = _pose(0) * np.array([4, 4, 1], np.float32)
    write_patn_csv(tmp_path / "kp.csv", poses)
    doc = evaluate(tmp_path / "pred", tmp_path / "gt", metrics="ssim,mask-ssim", keypoints=tmp_path / "kp.csv",
                   show_progress=False)  # fmt: skip
    m = patn_pose_mask(poses["a.png"], (256, 176))[..., None].astype(np.uint8)
    want = np.mean([ssim(read_image(tmp_path / "pred" / f"{n}.png") * m, read_image(tmp_path / "gt" / f"{n}.png") * m,
                         SKIMAGE_014) for n in "ab"])  # fmt: skip
    assert doc["metrics"]["mask-ssim"]["value"] == pytest.approx(want, rel=1e-12)
    assert doc["metrics"]["ssim"]["padded_to_256x256"] == 2 and doc["metrics"]["mask-ssim"]["count"] == 2
