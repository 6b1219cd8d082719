import json

import numpy as np
import pytest

from posewarp.errors import PosewarpError
from posewarp.formats import keypoints as K
from posewarp.formats.geometry import Fit


def person(seed=0, missing=(3, 16)):
    rng = np.random.default_rng(seed)
    kp = np.zeros((18, 3), np.float32)
    kp[:, 0] = rng.integers(0, 176, 18)
    kp[:, 1] = rng.integers(0, 256, 18)
    kp[:, 2] = rng.uniform(0.2, 1.0, 18).round(3)
    kp[list(missing)] = 0
    return kp


def test_openpose_json_round_trip_several_people(tmp_path):
    people = np.stack([person(0), person(1, missing=())])
    path = tmp_path / "a.json"
    K.write_openpose_json(path, people)
    doc = json.loads(path.read_text())
    assert doc["version"] == 1.3 and len(doc["people"][0]["pose_keypoints_2d"]) == 54
    assert doc["people"][0]["pose_keypoints_2d"][3 * 3 : 3 * 3 + 3] == [0.0, 0.0, 0.0]
    np.testing.assert_allclose(K.read_openpose_json(path), people, atol=1e-3)


def test_patn_round_trip_keeps_pixels_and_missing(tmp_path):
    kp = person(2)
    kp[:, 2] = np.where(kp[:, 2] > 0, 1.0, 0.0)
    path = tmp_path / "ann.csv"
    K.write_patn_csv(path, {"img_0.jpg": kp})
    text = path.read_text().splitlines()
    assert text[0] == "name:keypoints_y:keypoints_x"
    assert text[1].startswith("img_0.jpg: [")
    back = K.read_patn_csv(path)["img_0.jpg"]
    np.testing.assert_array_equal(back, kp)
    # JSON -> array -> PATN -> array again
    K.write_openpose_json(tmp_path / "p.json", kp)
    np.testing.assert_array_equal(K.read_openpose_json(tmp_path / "p.json")[0], back)


def test_select_person():
    small = person(0, missing=())
    big = small.copy()
    big[:, :2] *= 0.1
    big[:, 2] = 1.0  # highest score but tiny
    people = np.stack([small, big])
    assert K.select_person(people, "best") is not None
    np.testing.assert_array_equal(K.select_person(people, "best"), big)
    np.testing.assert_array_equal(K.select_person(people, "largest"), small)
    assert K.select_person(np.zeros((0, 18, 3)), "best").sum() == 0


def test_flip_twice_is_identity_and_swaps_sides():
    kp = person(3)
    once = K.flip(kp, 176)
    assert once[2, 0] == 175 - kp[5, 0]  # right shoulder <- mirrored left shoulder
    np.testing.assert_array_equal(K.flip(once, 176), kp)


def test_deepfashion_center_crop_shifts_x_by_40():
    fit = Fit.between((256, 256), (256, 176), "crop")
    kp = K.empty()
    kp[0] = (100, 50, 1)
    kp[1] = (10, 50, 1)  # falls outside the crop
    out = fit.keypoints(kp)
    np.testing.assert_allclose(out[0], (60, 50, 1))
    assert out[1, 2] == 0
    img = np.arange(256 * 256 * 3, dtype=np.uint32).reshape(256, 256, 3).astype(np.uint8)
    np.testing.assert_array_equal(fit.image(img), img[:, 40:216])


def test_resize_keeps_pixel_centres():
    fit = Fit.between((128, 64), (256, 128), "resize")
    kp = K.empty()
    kp[0] = (10, 20, 1)
    np.testing.assert_allclose(fit.keypoints(kp)[0], (20.5, 40.5, 1))


@pytest.mark.parametrize(
    "content, message",
    [
        ("{not json", "malformed JSON"),
        (json.dumps({"people": [{"pose_keypoints_2d": [0.0] * 48}]}), "16 keypoints; expected 18"),
        (json.dumps([1, 2]), "not an OpenPose JSON"),
    ],
)
def test_bad_openpose_json_names_the_file(tmp_path, content, message):
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(PosewarpError, match=message) as info:
        K.read_openpose_json(path)
    assert str(path) in str(info.value)


def test_bad_patn_and_pairs(tmp_path):
    bad = tmp_path / "ann.csv"
    bad.write_text("name:keypoints_y:keypoints_x\na.jpg: [1, 2]: [3, 4]\n")
    with pytest.raises(PosewarpError, match="18 y and x"):
        K.read_patn_csv(bad)
    pairs = tmp_path / "pairs.csv"
    pairs.write_text("src,dst\na,b\n")
    with pytest.raises(PosewarpError, match="from,to"):
        K.read_pairs_csv(pairs)
    pairs.write_text("from,to\na.jpg,b.jpg\n")
    assert K.read_pairs_csv(pairs) == [("a.jpg", "b.jpg")]
