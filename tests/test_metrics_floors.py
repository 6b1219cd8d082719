"""Floors: 'copy the source' and 'background only' scored beside a method when the pairs name sources."""

import json

import numpy as np
import pytest

from posewarp.cli.main import main
from posewarp.formats.images import read_image, write_image
from posewarp.formats.keypoints import write_pairs_csv, write_patn_csv
from posewarp.metrics.compare import score
from posewarp.metrics.floors import BACKGROUND, COPY, GROW, background_only
from posewarp.metrics.pose_mask import patn_pose_mask
from posewarp.metrics.ssim import SKIMAGE_014, ssim

H, W = 64, 48
PAIRS = [("s1.png", "t1.png"), ("s2.png", "t2.png"), ("t1.png", "s2.png")]


def _pose(dx):
    kp = np.zeros((18, 3), np.float32)
    kp[0], kp[1], kp[2], kp[5] = (24 + dx, 8, 1), (24 + dx, 16, 1), (17 + dx, 17, 1), (31 + dx, 17, 1)
    kp[8], kp[11], kp[9], kp[12] = (19 + dx, 36, 1), (29 + dx, 36, 1), (19 + dx, 50, 1), (29 + dx, 50, 1)
    return kp


@pytest.fixture()
def world(tmp_path):
    rng = np.random.default_rng(8)
    poses = {}
    yy, xx = np.mgrid[:H, :W]
    for i, name in enumerate(("s1.png", "s2.png", "t1.png", "t2.png")):
        background = np.stack([yy * 3, xx * 4, np.full_like(yy, 90 + 20 * i)], -1).astype(np.uint8)
        poses[name] = _pose(i - 2)
        person = patn_pose_mask(poses[name], (H, W))[..., None]
        image = np.where(person, rng.integers(0, 256, (H, W, 3)), background).astype(np.uint8)
        write_image(tmp_path / "gt" / name, image)
    write_patn_csv(tmp_path / "kp.csv", poses)
    write_pairs_csv(tmp_path / "pairs.csv", PAIRS)
    for a, b in PAIRS:  # the method: the target with a little noise
        target = read_image(tmp_path / "gt" / b)
        fake = np.clip(target.astype(int) + rng.integers(-15, 16, target.shape), 0, 255).astype(np.uint8)
        write_image(tmp_path / "pred" / f"{a[:-4]}___{b[:-4]}.png", fake)
    return tmp_path


def test_floors_are_rows_on_the_same_pairs(world):
    doc = score([world / "pred"], world / "gt", metrics="ssim", pairs=world / "pairs.csv", keypoints=world / "kp.csv",
                show_progress=False)  # fmt: skip
    rows = {r["method"]: r["values"]["ssim"] for r in doc["rows"]}
    assert list(rows) == ["pred", COPY, BACKGROUND] and doc["common_pairs"] == 3
    gt = {n: read_image(world / "gt" / n) for n in ("s1.png", "s2.png", "t1.png", "t2.png")}
    want_copy = np.mean([ssim(gt[a], gt[b], SKIMAGE_014) for a, b in PAIRS])
    assert rows[COPY] == pytest.approx(want_copy, rel=1e-12)
    poses = {"s1.png": _pose(-2), "s2.png": _pose(-1), "t1.png": _pose(0)}
    want_bg = np.mean([ssim(background_only(gt[a], poses[a]), gt[b], SKIMAGE_014) for a, b in PAIRS])
    assert rows[BACKGROUND] == pytest.approx(want_bg, rel=1e-12)
    assert rows["pred"] > max(rows[COPY], rows[BACKGROUND])  # the method beats what nothing earns


def test_background_only_fills_the_person_and_keeps_the_rest(world):
    image = read_image(world / "gt" / "s1.png")
    out = background_only(image, _pose(-2))
    person = patn_pose_mask(_pose(-2), (H, W))
    far = np.ones((H, W), bool)
    for y, x in zip(*np.nonzero(person)):
        far[max(0, y - GROW - 2) : y + GROW + 3, max(0, x - GROW - 2) : x + GROW + 3] = False
    assert np.array_equal(out[far], image[far])  # the background away from the person is untouched
    yy, xx = np.mgrid[:H, :W]
    smooth = np.stack([yy * 3, xx * 4, np.full_like(yy, 90)], -1)
    inside = person.astype(bool)
    assert np.abs(out[inside].astype(int) - smooth[inside]).mean() < np.abs(image[inside].astype(int) - smooth[inside]).mean() / 3


def test_without_keypoints_only_the_copy_floor_and_none_without_sources(world, capsys):
    doc = score([world / "pred"], world / "gt", metrics="ssim", pairs=world / "pairs.csv", show_progress=False)
    assert [r["method"] for r in doc["rows"]] == ["pred", COPY]
    assert any("needs the sources' keypoints" in n for n in doc["notes"])
    plain = world / "plain"
    for name in ("s1.png", "s2.png", "t1.png", "t2.png"):
        write_image(plain / name, read_image(world / "gt" / name))
    single = score([plain], world / "gt", metrics="ssim", show_progress=False)
    assert "rows" not in single and single["metrics"]["ssim"]["value"] == pytest.approx(1.0)
    with pytest.raises(SystemExit) as exc:
        main(["eval", "--pred", str(world / "pred"), "--gt", str(world / "gt"), "--pairs", str(world / "pairs.csv"),
              "--metrics", "ssim", "--json", "--no-floors", "--device", "cpu"])  # fmt: skip
    assert exc.value.code == 0 and "rows" not in json.loads(capsys.readouterr().out)
