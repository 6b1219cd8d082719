"""The end-to-end job: the offline demo on a very small plan, then `posewarp transfer` on its runs."""

import json
import math
from pathlib import Path

import numpy as np
import pytest
from cli_runner import cli
from PIL import Image

from posewarp.demo import DemoPlan, run_demo
from posewarp.formats import images
from posewarp.formats import keypoints as K

REPO = Path(__file__).resolve().parent.parent
SMALL = DemoPlan(identities=4, poses_per_identity=3, size=(64, 32), stage1_steps=3, stage2_steps=3, test_fraction=0.25)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    import torch

    torch.manual_seed(0)
    out = tmp_path_factory.mktemp("demo") / "demo"
    doc = run_demo(out, plan=SMALL, device="cpu", show_progress=False)
    return out, doc


def test_demo_writes_metrics_grid_and_both_runs(demo):
    out, doc = demo
    assert json.loads((out / "metrics.json").read_text())["plan"]["identities"] == 4
    assert doc["plan"]["recipe"] == "fashion"  # the demo runs on the world that looks like the task
    for who in ("posewarp", "copy_source", "background_only", "part_warp"):
        for name in ("ssim", "mask-ssim"):
            assert math.isfinite(doc[who]["metrics"][name]["value"])
    assert doc["posewarp"]["pairs"] == doc["copy_source"]["pairs"] == doc["part_warp"]["pairs"] > 0
    grid = images.read_image(out / "results-grid.png")
    assert grid.shape[1] > 5 * 32
    assert (Path(doc["runs"]["stage1"]) / "snapshot-latest.pt").is_file()
    assert not (Path(doc["runs"]["stage2"]) / "matcher-latest.pt").exists()  # the part grid needs no matcher
    assert json.loads((Path(doc["runs"]["stage2"]) / "config.json").read_text())["stage1"] == doc["runs"]["stage1"]


def test_demo_refuses_a_non_empty_folder(demo, capsys):
    out, _ = demo
    code, _, err = cli(["demo", "--quick", "--out", out], capsys)
    assert code == 1 and "not empty" in err


def runs(demo):
    out, doc = demo
    return out, ["--stage1", doc["runs"]["stage1"], "--stage2", doc["runs"]["stage2"], "--device", "cpu"]


def test_transfer_one_person_with_grid(demo, tmp_path, capsys):
    out, opts = runs(demo)
    src = out / "world" / "images" / "id0000_pose00.png"
    code, _, err = cli(["transfer", src, "--pose", out / "world" / "keypoints" / "id0001_pose02.json",
                        "--out", tmp_path / "o.png", "--grid", tmp_path / "g.png", *opts], capsys)
    assert code == 0, err
    result = images.read_image(tmp_path / "o.png")
    assert result.shape == (64, 32, 3)
    assert not np.array_equal(result, images.read_image(src))
    assert images.read_image(tmp_path / "g.png").shape[1] >= 4 * 32


def test_transfer_a_pose_sequence_to_gif_and_frames(demo, tmp_path, capsys):
    out, opts = runs(demo)
    poses = [K.read_openpose_json(p)[0].reshape(-1).tolist()
             for p in sorted((out / "world" / "keypoints").glob("id0002_*.json"))]
    seq = tmp_path / "seq.json"
    seq.write_text(json.dumps(poses))
    code, stdout, err = cli(["transfer", out / "world" / "images" / "id0000_pose00.png", "--pose", seq,
                             "--out", tmp_path / "walk.gif", "--json", *opts], capsys)
    assert code == 0, err
    assert json.loads(stdout)["poses"] == ["seq-0000", "seq-0001", "seq-0002"]
    with Image.open(tmp_path / "walk.gif") as gif:
        assert gif.n_frames == 3
    assert len(list((tmp_path / "walk-frames").glob("*.png"))) == 3


def test_batch_mode_is_ready_for_eval(demo, capsys):
    out, doc = demo
    results = out / "results"
    assert len(list((results / "pred").glob("*___*.png"))) == doc["posewarp"]["pairs"]
    code, stdout, err = cli(["eval", "--pred", results / "pred", "--gt", results / "gt", "--pairs",
                             results / "pairs.csv", "--metrics", "ssim", "--json", "--device", "cpu"], capsys)
    assert code == 0, err
    rows = {r["method"]: r["values"]["ssim"] for r in json.loads(stdout)["rows"]}  # the pairs name sources: floors too
    assert rows["pred"] == pytest.approx(doc["posewarp"]["metrics"]["ssim"]["value"])
    assert "floor: copy source" in rows


def test_bad_pose_file_with_17_points(demo, tmp_path, capsys):
    out, opts = runs(demo)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"people": [{"pose_keypoints_2d": [1.0] * 60}]}))
    code, _, err = cli(["transfer", out / "world" / "images" / "id0000_pose00.png", "--pose", bad,
                        "--out", tmp_path / "o.png", *opts], capsys)
    assert code == 1 and "20 keypoints" in err and str(bad) in err
    assert not (tmp_path / "o.png").exists()


def test_missing_source_inputs_name_the_download(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("POSEWARP_HOME", str(tmp_path / "home"))
    images.write_image(tmp_path / "alone.png", np.full((64, 32, 3), 200, np.uint8))
    pose = tmp_path / "p.json"
    K.write_openpose_json(pose, np.full((18, 3), (10, 20, 1), np.float32))
    code, _, err = cli(["transfer", tmp_path / "alone.png", "--pose", pose, "--out", tmp_path / "o.png"], capsys)
    assert code == 1 and "posewarp weights download openpose" in err


def test_usage_errors(capsys):
    code, _, _ = cli(["transfer", "--out", "x.png"], capsys)
    assert code == 2


def test_shipped_weights_run_the_shipped_example(tmp_path, capsys):
    src = REPO / "examples" / "person.png"
    code, _, err = cli(["transfer", src, "--pose", REPO / "examples" / "pose-arms-up.json", "--out",
                        tmp_path / "o.png", "--device", "cpu"], capsys)
    assert code == 0, err
    result = images.read_image(tmp_path / "o.png")
    assert result.shape == (128, 64, 3) and result.dtype == np.uint8
    assert 0 < result.mean() < 255 and result.std() > 5
    assert not np.array_equal(result, images.read_image(src))


def as_body25(kp):
    """COCO-18 -> BODY_25 by hand: MidHip (8) between the hips, COCO 8-17 move up one, no feet (19-24)."""
    out = np.zeros((25, 3), np.float32)
    out[:8] = kp[:8]
    out[9:19] = kp[8:18]
    out[8] = ((kp[8, 0] + kp[11, 0]) / 2, (kp[8, 1] + kp[11, 1]) / 2, 1.0)
    return out


def test_transfer_reads_a_body25_file_with_two_people_and_says_which(tmp_path, capsys, monkeypatch):
    src, pose = REPO / "examples" / "person.png", REPO / "examples" / "pose-arms-up.json"
    kp = K.read_openpose_json(pose)[0]
    small = K.read_openpose_json(REPO / "examples" / "pose-wave.json")[0]  # another pose, half the size
    small[:, :2] = np.where(K.visible(small)[:, None], small[:, :2] * 0.5 + 10, 0)
    two = tmp_path / "arms-up_body25.json"
    two.write_text(json.dumps({"version": 1.3, "people": [{"pose_keypoints_2d": as_body25(p).ravel().tolist()}
                                                          for p in (small, kp)]}))  # fmt: skip
    monkeypatch.chdir(tmp_path)
    code, _, err = cli(["transfer", src, "--pose", pose, "--out", "coco18.png", "--device", "cpu"], capsys)
    assert code == 0, err
    code, _, err = cli(["transfer", src, "--pose", two, "--device", "cpu"], capsys)  # default --out
    assert code == 0, err
    assert "body25, person 1 of 2 (the largest)" in err and "person-arms-up_body25.png" in err
    # the BODY_25 file's larger person is the COCO-18 pose: the very same picture
    np.testing.assert_array_equal(images.read_image("person-arms-up_body25.png"), images.read_image("coco18.png"))
    code, _, err = cli(["transfer", src, "--pose", two, "--person", "0", "--out", "small.png", "--device", "cpu"],
                       capsys)  # fmt: skip
    assert code == 0 and "person 0 of 2 (--person 0)" in err
    assert not np.array_equal(images.read_image("small.png"), images.read_image("coco18.png"))
    code, _, err = cli(["transfer", src, "--pose", two, "--person", "2", "--out", "x.png"], capsys)
    assert code == 1 and "--person 2: the file has 2 people" in err and not (tmp_path / "x.png").exists()
