"""A problem of one item skips that item, never the job: each as a `posewarp` process. A legal 255-byte image name
whose output name is too long, a file name that is not UTF-8, a crop name with a line break, a pack name '.', and
two sequence poses named alike (each gets its own frame)."""

import json
import os

import numpy as np
import pytest
from faults import run, small_world
from test_prepare import MARKET_TEST, MARKET_TRAIN, market_tree, picture

from posewarp.formats import images as I
from posewarp.formats import keypoints as K

# The keypoints network replaced by seeded random weights of the same architecture (no download in a test).
STAND_IN = """
import torch
from posewarp.preprocess import keypoints as KP
from posewarp.preprocess.openpose_net import BodyPoseNet
torch.manual_seed(0)
KP.load_body_pose_weights = lambda path: BodyPoseNet()
"""


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    return small_world(tmp_path_factory.mktemp("world"), identities=2, poses=2, test_fraction=0.5)


def keypoints_job(folder, out, *extra):
    weights = folder.parent / "weights.pth"
    weights.write_bytes(b"a stand-in: the network is replaced")
    args = ["keypoints", folder, "--out", out, "--weights", weights, "--scales", "0.1", "--device", "cpu", "--json",
            *extra]  # fmt: skip
    return run(args, setup=STAND_IN)


def test_a_255_byte_image_name_skips_that_image_only(world, tmp_path):
    folder = tmp_path / "images"
    folder.mkdir()
    for f in sorted((world / "images").iterdir())[:2]:
        (folder / f.name).write_bytes(f.read_bytes())
    long_name = "x" * 251 + ".png"  # legal (255 bytes); its keypoints file x...x.json would be 256
    (folder / long_name).write_bytes((world / "images" / "id0000_pose00.png").read_bytes())
    result = keypoints_job(folder, tmp_path / "kp")
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["done"] == 2 and [f["name"] for f in doc["failed"]] == [long_name]
    assert "256 bytes" in doc["failed"][0]["reason"]
    assert sorted(p.name for p in (tmp_path / "kp").iterdir()) == sorted(p.stem + ".json" for p in folder.iterdir()
                                                                       if p.name != long_name)  # fmt: skip


def test_a_file_name_that_is_not_utf8_is_left_out_of_the_annotations_only(world, tmp_path):
    folder = tmp_path / "images"
    folder.mkdir()
    for f in sorted((world / "images").iterdir())[:2]:
        (folder / f.name).write_bytes(f.read_bytes())
    odd = os.fsdecode(b"caf\xe9.png")  # Latin-1 bytes, as an old camera or archive writes them
    (folder / odd).write_bytes((world / "images" / "id0000_pose00.png").read_bytes())
    result = keypoints_job(folder, tmp_path / "kp", "--annotations", tmp_path / "a.csv")
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["done"] == 3 and len(doc["failed"]) == 1 and "not UTF-8" in doc["failed"][0]["reason"]
    assert "caf\\xe9.png" in doc["failed"][0]["name"]
    assert sorted(K.read_patn_csv(tmp_path / "a.csv")) == sorted(f.name for f in folder.iterdir() if f.name != odd)


def test_a_crop_name_with_a_line_break_is_left_out_of_the_lists(tmp_path):
    root = tmp_path / "market"
    market_tree(root)
    odd = "0002_c1s1\n_000451_03.jpg"
    I.write_image(root / "bounding_box_train" / odd, picture(128, 64, 7), quality=90)
    kp = np.zeros((18, 3), np.float32)
    kp[0], kp[1] = (30, 20, 1), (31, 40, 1)
    names = [*MARKET_TRAIN, odd]
    K.write_patn_csv(root / "market-annotation-train.csv", {n: kp for n in names})
    K.write_pairs_csv(root / "market-pairs-train.csv", [(a, b) for a in names for b in names if a != b])
    result = run(["prepare", "market", root, "--out", tmp_path / "o", "--json"])
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert [f["name"] for f in doc["failed"]] == [odd] and "line break" in doc["failed"][0]["reason"]
    assert (tmp_path / "o" / "train.lst").read_text().splitlines() == MARKET_TRAIN
    assert (tmp_path / "o" / "test.lst").read_text().splitlines() == MARKET_TEST
    assert all(odd not in pair for pair in K.read_pairs_csv(tmp_path / "o" / "pairs-train.csv"))


def test_a_pack_name_that_is_a_folder_is_excluded(world, tmp_path):
    pairs = tmp_path / "pairs.csv"
    K.write_pairs_csv(pairs, [(".", "id0000_pose00.png"), ("id0000_pose01.png", "id0000_pose00.png")])
    result = run(["pack", "--images", world / "images", "--keypoints", world / "keypoints", "--parsing",
                  world / "parsing", "--pairs", pairs, "--out", tmp_path / "d.h5", "--json"])  # fmt: skip
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert [e["name"] for e in doc["excluded"]] == ["."] and "not an image file" in doc["excluded"][0]["reason"]
    assert doc["num_images"] == 2


def test_sequence_poses_named_alike_get_a_frame_each(world, tmp_path):
    kp = [K.read_openpose_json(world / "keypoints" / f"id0000_pose0{i}.json")[0] for i in range(2)]
    coco17 = [np.concatenate([k[[0, 15, 14, 17, 16, 5, 2, 6, 3, 7, 4, 11, 8, 12, 9, 13, 10], :2],
                              np.full((17, 1), 2.0)], 1).ravel().tolist() for k in kp]  # fmt: skip
    doc = {"images": [{"id": 1, "file_name": "a/x.jpg", "width": 16, "height": 32},
                      {"id": 2, "file_name": "b/x.jpg", "width": 16, "height": 32}],
           "annotations": [{"image_id": 1, "keypoints": coco17[0]}, {"image_id": 2, "keypoints": coco17[1]}]}  # fmt: skip
    (tmp_path / "seq.json").write_text(json.dumps(doc))
    out = tmp_path / "walk.gif"
    result = run(["transfer", world / "images" / "id0001_pose00.png", "--pose", tmp_path / "seq.json", "--out", out,
                  "--device", "cpu"])  # fmt: skip
    assert result.returncode == 0, result.stderr
    frames = sorted(p.name for p in (tmp_path / "walk-frames").iterdir())
    assert frames == ["x-2.png", "x.png"]
    assert not np.array_equal(I.read_image(tmp_path / "walk-frames" / "x.png"),
                              I.read_image(tmp_path / "walk-frames" / "x-2.png"))  # fmt: skip


def test_prepare_reads_a_list_file_s_frame_from_its_values(tmp_path):
    """Def-GAN's `fasion-annotation-test.csv` (GFLA's name) is in the uncropped 256x256 frame: recognised, moved
    by x - 40 into the crop's frame with a note, so no keypoint shifts; a file that fits no frame is refused."""
    from test_prepare import TEST, fashion_tree, kp_for

    root = tmp_path / "In-shop"
    fashion_tree(root, spelling="fasion-")
    names = list(K.read_patn_csv(root / "fasion-annotation-train.csv")) + TEST
    full = {}
    for n in TEST:
        kp = kp_for(names.index(n))
        kp[kp[:, 2] > 0, 0] += 40  # the same points in the 256x256 image the crop was cut from
        full[n] = kp
    K.write_patn_csv(root / "fasion-annotation-test.csv", full)
    result = run(["prepare", "deepfashion", root, "--out", tmp_path / "o", "--json"])
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    frame = [note for note in doc["notes"] if "fasion-annotation" in note]
    assert len(frame) == 1 and frame[0].startswith("fasion-annotation-test.csv:")  # not the train file
    assert "256x256" in frame[0] and "x - 40" in frame[0]
    ann = K.read_patn_csv(tmp_path / "o" / "annotations.csv")
    for n in TEST:
        want = kp_for(names.index(n))
        want[(want[:, 0] > 175)] = 0  # the fixture's one point beyond the crop stays outside it
        np.testing.assert_array_equal(ann[n], want)
    assert doc["points_outside"] == 1
    result = run(["prepare", "deepfashion", root, "--out", tmp_path / "o2"])  # the summary says it too
    assert result.returncode == 0 and "note:" in result.stderr and "256x256" in result.stderr
    for n in TEST:
        full[n][full[n][:, 2] > 0, 0] += 100  # beyond any frame
    K.write_patn_csv(root / "fasion-annotation-test.csv", full)
    result = run(["prepare", "deepfashion", root, "--out", tmp_path / "o3"])
    assert result.returncode == 1
    from faults import one_line_error

    one_line_error(result.stderr, "fasion-annotation-test.csv", "neither the 256x176 crop nor the 256x256")
    assert not (tmp_path / "o3").exists()


def test_prepare_refuses_a_market_list_file_in_another_frame(tmp_path):
    root = tmp_path / "market"
    market_tree(root)
    kp = np.zeros((18, 3), np.float32)
    kp[0], kp[1], kp[8] = (80, 40, 1), (90, 80, 1), (100, 200, 1)  # a 2x copy: most points beyond 64x128
    K.write_patn_csv(root / "market-annotation-test.csv", {n: kp for n in MARKET_TEST})
    result = run(["prepare", "market", root, "--out", tmp_path / "o"])
    assert result.returncode == 1
    from faults import one_line_error

    one_line_error(result.stderr, "market-annotation-test.csv", "beyond the 64x128 crops", "not in Market-1501's frame")
    assert not (tmp_path / "o").exists()
