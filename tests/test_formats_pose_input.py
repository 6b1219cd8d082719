"""Pose input whatever its source: BODY_25, COCO-17, MS COCO JSON, detector outputs, several people, bad values.

Expected COCO-18 points are written out by hand from the published orders (keypoint_layouts.py cites them).
"""

import json

import numpy as np
import pytest

from posewarp.errors import PosewarpError
from posewarp.formats import keypoints as K
from posewarp.formats.keypoint_sources import KeypointSource

# BODY_25 point i at (100 + i, 200 + 2i), confidence 0.5; index 8 is MidHip, 19-24 the feet.
BODY25 = [[100 + i, 200 + 2 * i, 0.5] for i in range(25)]
# COCO-18 from it, by hand: BODY_25 0-7, then 9-14 (hips, knees, ankles), then 15-18 (eyes, ears).
BODY25_AS_COCO18_X = [100, 101, 102, 103, 104, 105, 106, 107, 109, 110, 111, 112, 113, 114, 115, 116, 117, 118]

# A COCO-17 person (x, y, v): nose, l/r eye, l/r ear, l/r shoulder, l/r elbow, l/r wrist, l/r hip, l/r knee, l/r ankle.
COCO17 = [[50, 20, 2], [53, 18, 2], [47, 18, 2], [56, 20, 1], [44, 20, 2], [60, 40, 2], [40, 42, 2], [64, 60, 2],
          [36, 60, 2], [66, 80, 2], [0, 0, 0], [56, 90, 2], [44, 90, 2], [57, 120, 2], [43, 120, 2], [58, 150, 2],
          [42, 150, 2]]  # fmt: skip
# COCO-18 by hand: neck = midpoint of the shoulders (60, 40) and (40, 42); the right wrist (v = 0) is missing;
# the left ear (v = 1, labelled but hidden) is present.
COCO17_AS_COCO18 = [(50, 20), (50, 41), (40, 42), (36, 60), None, (60, 40), (64, 60), (66, 80), (44, 90), (43, 120),
                    (42, 150), (56, 90), (57, 120), (58, 150), (47, 18), (53, 18), (44, 20), (56, 20)]  # fmt: skip


def flat(points):
    return [float(v) for p in points for v in p]


def write(tmp_path, doc, name="pose.json"):
    path = tmp_path / name
    path.write_text(doc if isinstance(doc, str) else json.dumps(doc))
    return path


def test_body25_maps_to_coco18_dropping_midhip_and_feet(tmp_path):
    path = write(tmp_path, {"version": 1.3, "people": [{"pose_keypoints_2d": flat(BODY25)}]})
    poses = K.read_poses(path)
    assert poses.format == "body25" and [n for n, _ in poses.entries] == ["pose"]
    kp = poses.entries[0][1][0]
    np.testing.assert_array_equal(kp[:, 0], BODY25_AS_COCO18_X)
    np.testing.assert_array_equal(kp[:, 1], [200 + 2 * (x - 100) for x in BODY25_AS_COCO18_X])
    assert kp[8].tolist() == [109, 218, 0.5]  # R-hip = BODY_25 RHip (9), not MidHip (8)
    assert kp[14].tolist() == [115, 230, 0.5]  # R-eye = BODY_25 REye (15)


def test_ms_coco_annotation_json_maps_to_coco18_with_neck(tmp_path):
    doc = {
        "images": [{"id": 7, "file_name": "a.jpg", "width": 100, "height": 160},
                   {"id": 8, "file_name": "b.jpg", "width": 100, "height": 160}],
        "annotations": [{"image_id": 7, "category_id": 1, "iscrowd": 0, "keypoints": flat(COCO17)},
                        {"image_id": 8, "category_id": 1, "iscrowd": 1, "keypoints": [0] * 51}],
        "categories": [{"id": 1, "name": "person"}],
    }  # fmt: skip
    poses = K.read_poses(write(tmp_path, doc, "person_keypoints.json"))
    assert poses.format == "coco" and poses.sizes == {"a.jpg": (160, 100), "b.jpg": (160, 100)}
    (name_a, a), (name_b, b) = poses.entries
    assert (name_a, a.shape, name_b, b.shape) == ("a.jpg", (1, 18, 3), "b.jpg", (0, 18, 3))  # crowd skipped
    for i, expected in enumerate(COCO17_AS_COCO18):
        assert a[0, i].tolist() == ([0, 0, 0] if expected is None else [*expected, 1.0]), i


def test_coco17_neck_needs_both_shoulders_and_takes_the_lower_confidence():
    from posewarp.formats.keypoint_layouts import to_coco18

    people = np.zeros((2, 17, 3), np.float32)
    people[:, 5] = (60, 40, 0.9)
    people[:, 6] = (40, 42, 0.6)
    people[1, 6] = 0  # the second person's right shoulder is not seen
    out = to_coco18(people, "coco17")
    np.testing.assert_allclose(out[0, 1], (50, 41, 0.6))
    assert out[1, 1].tolist() == [0, 0, 0]
    np.testing.assert_allclose(out[1, 5], (60, 40, 0.9))


def test_openpose_v1_0_pose_keypoints_and_v1_3_coco18(tmp_path):
    kp = np.zeros((18, 3), np.float32)
    kp[:, 0], kp[:, 1], kp[:, 2] = np.arange(18) + 10, np.arange(18) * 2 + 30, 0.8
    kp[4] = 0
    old = K.read_poses(write(tmp_path, {"version": 1.0, "people": [{"pose_keypoints": flat(kp)}]}, "old.json"))
    new = K.read_poses(write(tmp_path, {"version": 1.3, "people": [{"pose_keypoints_2d": flat(kp)}]}, "new.json"))
    assert old.format == new.format == "coco18"
    np.testing.assert_array_equal(old.entries[0][1][0], kp)
    np.testing.assert_array_equal(new.entries[0][1][0], kp)


def test_several_people_default_is_the_largest_box_and_person_n_chooses(tmp_path):
    small = [[40 + i, 40 + i, 0.99] for i in range(18)]  # box 17 x 17, very confident
    large = [[10 + 5 * i, 20 + 8 * i, 0.4] for i in range(18)]  # box 85 x 136
    path = write(tmp_path, {"people": [{"pose_keypoints_2d": flat(small)}, {"pose_keypoints_2d": flat(large)}]})
    people = K.read_poses(path).entries[0][1]
    kp, note = K.choose_person(people)
    assert note == "person 1 of 2 (the largest)" and kp[0, 0] == 10
    kp, note = K.choose_person(people, 0)
    assert note == "person 0 of 2 (--person 0)" and kp[0, 0] == 40
    with pytest.raises(PosewarpError, match=r"--person 2: the file has 2 people \(numbered from 0\)"):
        K.choose_person(people, 2, path)
    with pytest.raises(PosewarpError, match="no person"):
        K.choose_person(np.zeros((0, 18, 3)))
    # equal boxes: the higher summed confidence wins (a weaker duplicate detection is not chosen)
    ghost = np.array(large, np.float32)
    ghost[:, 2] = 0.1
    assert K.choose_person(np.stack([ghost, np.array(large, np.float32)]))[1] == "person 1 of 2 (the largest)"


def test_detector_outputs_mmpose_ultralytics_and_coco_results(tmp_path):
    points = [[20 + i, 30 + 2 * i] for i in range(17)]
    scores = [0.9] * 17
    scores[9] = 0.1  # below the 0.3 drawing threshold: missing
    mmpose = [{"keypoints": points, "keypoint_scores": scores, "bbox": [[0, 0, 50, 80]]}]
    ultralytics = [{"name": "person", "keypoints": {"x": [p[0] for p in points], "y": [p[1] for p in points],
                                                    "visible": scores}}]  # fmt: skip
    results = [{"image_id": 1, "category_id": 1, "score": 0.8,
                "keypoints": [v for p, s in zip(points, scores) for v in (*p, s)]}]  # fmt: skip
    for name, doc in (("mmpose", mmpose), ("ultralytics", ultralytics), ("results", results)):
        poses = K.read_poses(write(tmp_path, doc, f"{name}.json"))
        kp = poses.entries[0][1][0]
        assert poses.format == "coco17", name
        assert kp[7].tolist() == [0, 0, 0], name  # COCO-18 L-wrist = COCO-17 left_wrist (9), scored 0.1
        np.testing.assert_allclose(kp[2], (26, 42, 0.9), err_msg=name)  # R-shoulder = right_shoulder (6)
        np.testing.assert_allclose(kp[1], (25.5, 41, 0.9), err_msg=name)  # neck between (25, 40) and (26, 42)


def test_forced_format_and_plain_arrays(tmp_path):
    body25 = write(tmp_path, {"people": [{"pose_keypoints_2d": flat(BODY25)}]})
    assert K.read_poses(body25, "body25").format == "body25"
    with pytest.raises(PosewarpError, match="25 keypoints; --pose-format coco17 needs 17") as info:
        K.read_poses(body25, "coco17")
    assert str(body25) in str(info.value)
    with pytest.raises(PosewarpError, match="--pose-format coco needs an MS COCO"):
        K.read_poses(body25, "coco")
    with pytest.raises(PosewarpError, match="unknown pose format"):
        K.read_poses(body25, "mpii")
    one = K.read_poses(write(tmp_path, [p[:2] + [1.0] for p in COCO17], "rows.json"))
    assert one.format == "coco17" and one.entries[0][1][0, 1].tolist() == [50, 41, 1]
    seq = K.read_poses(write(tmp_path, [flat(BODY25), flat(BODY25)], "seq.json"))
    assert [n for n, _ in seq.entries] == ["seq-0000", "seq-0001"]


def test_patn_csv_through_the_same_reader(tmp_path):
    path = tmp_path / "ann.csv"
    path.write_text("name:keypoints_y:keypoints_x\na.jpg: " + str([10 + i for i in range(18)]) + ": "
                    + str([-1] + [5 + i for i in range(17)]) + "\n")  # fmt: skip
    poses = K.read_poses(path)
    assert poses.format == "patn" and poses.entries[0][0] == "a.jpg"
    kp = poses.entries[0][1][0]
    assert kp[0].tolist() == [0, 0, 0] and kp[1].tolist() == [5, 11, 1]


@pytest.mark.parametrize(
    "doc, message",
    [
        ('{"people": [{"pose_keypoints_2d": [NaN' + ", 1" * 53 + "]}]}", "NaN or infinite"),
        ('{"people": [{"pose_keypoints_2d": [Infinity' + ", 1" * 53 + "]}]}", "NaN or infinite"),
        (json.dumps({"people": [{"pose_keypoints_2d": flat([[-30, 5, 0.9]] + [[10, 10, 0.9]] * 17)}]}),
         r"person 0: nose at \(-30.0, 5.0\) lies outside the image"),
        (json.dumps({"people": [{"pose_keypoints_2d": flat([[0.4, 0.2, 0.9]] * 18)}]}), "looks normalised"),
        (json.dumps({"images": [{"id": 1, "file_name": "a.jpg", "width": 40, "height": 160}],
                     "annotations": [{"image_id": 1, "keypoints": flat(COCO17)}]}),
         r"a.jpg: person 0: nose at \(50.0, 20.0\) lies outside the 160x40 image"),
        (json.dumps({"images": [], "annotations": [{"image_id": 3, "keypoints": flat(COCO17)}]}), "image_id 3"),
        (json.dumps([{"keypoints": {"x": [1, 2], "y": [1]}}]), "equally long"),
    ],
)
def test_bad_values_are_one_line_errors_naming_the_file(tmp_path, doc, message):
    path = write(tmp_path, doc)
    with pytest.raises(PosewarpError, match=message) as info:
        K.read_poses(path)
    assert str(info.value).startswith(str(path)) and "\n" not in str(info.value)


def test_keypoint_source_folder_and_table(tmp_path):
    folder = tmp_path / "kp"
    (folder / "sub").mkdir(parents=True)
    (folder / "sub" / "x_keypoints.json").write_text(json.dumps({"people": [{"pose_keypoints_2d": flat(BODY25)}]}))
    two = [[[10 + i, 10 + i, 0.9] for i in range(18)], [[10 + 4 * i, 10 + 4 * i, 0.9] for i in range(18)]]
    (folder / "y.json").write_text(json.dumps({"people": [{"pose_keypoints_2d": flat(p)} for p in two]}))
    source = KeypointSource(folder)
    np.testing.assert_array_equal(source("sub/x.jpg")[:, 0], BODY25_AS_COCO18_X)
    assert source("y.png")[17, 0] == 10 + 4 * 17 and source.several == 1
    assert "1 images had several people" in source.note() and "largest" in source.note()
    assert KeypointSource(folder, person=0)("y.png")[17, 0] == 27
    with pytest.raises(PosewarpError, match="no pose file for 'z.jpg'"):
        source("z.jpg")
    table = write(tmp_path, {"images": [{"id": 1, "file_name": "val/a.jpg"}],
                             "annotations": [{"image_id": 1, "keypoints": flat(COCO17)}]}, "coco.json")  # fmt: skip
    by_name = KeypointSource(table)
    assert by_name("val/a.jpg")[1].tolist() == [50, 41, 1] and by_name("a.png")[1].tolist() == [50, 41, 1]
    with pytest.raises(PosewarpError, match="no keypoints for 'b.jpg'"):
        by_name("b.jpg")
