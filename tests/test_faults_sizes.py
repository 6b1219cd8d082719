"""Nothing bent or shrunk in silence, each as a `posewarp` process: a photo of another size and aspect than the
networks' is worked on at their aspect around the person and the result written at the photo's size, with one
line saying so and a note about the synthetic demo weights; a pack of another size is refused (or fitted with
--fit-pack); a pair given twice is kept once and reported; an option the design does not read is refused."""

import json

import numpy as np
import pytest
from faults import one_line_error, run
from PIL import Image

from posewarp.data import pack
from posewarp.formats import images
from posewarp.formats import keypoints as K
from posewarp.formats import parsing as P
from posewarp.synth import generate

EXAMPLES = __import__("pathlib").Path(__file__).resolve().parents[1] / "examples"


@pytest.fixture(scope="module")
def photo(tmp_path_factory):
    """The example person (128x64) scaled by 1.5 into a 256x256 picture with a blue background, at (100, 40), with
    its keypoints and parsing beside it: a photo of another size and aspect than the shipped networks'."""
    root = tmp_path_factory.mktemp("photo")
    person = images.read_image(EXAMPLES / "person.png")
    canvas = np.zeros((256, 256, 3), np.uint8)
    canvas[:] = (90, 120, 150)
    canvas[40:232, 100:196] = np.asarray(Image.fromarray(person).resize((96, 192), Image.BICUBIC))
    images.write_image(root / "photo.png", canvas)
    kp = K.read_openpose_json(EXAMPLES / "keypoints" / "person.json")
    seen = kp[..., 2] > 0
    kp[..., 0] = np.where(seen, kp[..., 0] * 1.5 + 100, 0)
    kp[..., 1] = np.where(seen, kp[..., 1] * 1.5 + 40, 0)
    K.write_openpose_json(root / "keypoints" / "photo.json", kp)
    labels = np.zeros((256, 256), np.uint8)
    small = P.read_label_png(EXAMPLES / "parsing" / "person.png")
    labels[40:232, 100:196] = np.asarray(Image.fromarray(small).resize((96, 192), Image.NEAREST))
    P.write_label_png(root / "parsing" / "photo.png", labels)
    return root / "photo.png", canvas


def test_a_photo_is_worked_on_at_the_networks_aspect_and_written_at_its_own_size(photo, tmp_path):
    src, canvas = photo
    out = tmp_path / "o.png"
    result = run(["transfer", src, "--pose", EXAMPLES / "pose-arms-up.json", "--out", out, "--device", "cpu"])
    assert result.returncode == 0, result.stderr
    notes = [line for line in result.stderr.splitlines() if line.startswith("note:")]
    assert len(notes) == 2, result.stderr  # each said once
    assert "256x256 (HxW) source is fitted to the network's trained 128x64" in notes[0]
    assert "cropped to 256x128" in notes[0] and "scaled by 0.5" in notes[0] and "padded" not in notes[0]
    assert "synthetic mannequin world" in notes[1] and "--stage1/--stage2" in notes[1]
    got = images.read_image(out)
    assert got.shape == (256, 256, 3)  # the photo's size, not a 128x64 thumbnail
    x0 = int(notes[0].split("at x=")[1].split(",")[0])
    outside = np.ones((256, 256), bool)
    outside[:, x0 - 1 : x0 + 129] = False
    np.testing.assert_array_equal(got[outside], canvas[outside])  # the photo outside the region is untouched
    assert np.abs(got[:, x0 + 1 : x0 + 127].astype(int) - canvas[:, x0 + 1 : x0 + 127]).mean() > 5  # a new person
    doc = json.loads(run(["transfer", src, "--pose", EXAMPLES / "pose-arms-up.json", "--out", tmp_path / "j.png",
                          "--device", "cpu", "--json"]).stdout)  # fmt: skip
    assert doc["output_size"] == [256, 256] and doc["size"] == [128, 64] and len(doc["notes"]) == 2


def test_an_image_of_the_networks_size_is_used_as_it_is(tmp_path):
    result = run(["transfer", EXAMPLES / "person.png", "--pose", EXAMPLES / "pose-arms-up.json", "--out",
                  tmp_path / "o.png", "--device", "cpu"])  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "note:" not in result.stderr and images.read_image(tmp_path / "o.png").shape == (128, 64, 3)


@pytest.fixture(scope="module")
def small_world(tmp_path_factory):
    root = tmp_path_factory.mktemp("world")
    generate(root / "w", identities=2, poses_per_identity=2, size=(32, 16), seed=0, test_fraction=0.5,
             show_progress=False)  # fmt: skip
    return root / "w"


def test_batch_mode_refuses_a_pack_of_another_size_unless_asked_to_fit_it(small_world, tmp_path):
    w = small_world
    data = pack(w / "images", w / "keypoints", w / "parsing", [w / "pairs-train.csv", w / "pairs-test.csv"],
                tmp_path / "w.h5", show_progress=False).out  # fmt: skip
    result = run(["transfer", "--data", data, "--out", tmp_path / "r", "--device", "cpu"])
    assert result.returncode == 1
    one_line_error(result.stderr, str(data), "32x16", "trained at 128x64", "--fit-pack")
    assert not (tmp_path / "r" / "pred").exists()
    result = run(["transfer", "--data", data, "--out", tmp_path / "r", "--device", "cpu", "--fit-pack", "--json"])
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert len(doc["notes"]) == 1 and "fitted to the networks' 128x64" in doc["notes"][0]
    preds = sorted((tmp_path / "r" / "pred").glob("*.png"))
    assert preds and all(images.read_image(p).shape == (128, 64, 3) for p in preds)
    assert all(images.read_image(p).shape == (128, 64, 3) for p in (tmp_path / "r" / "gt").glob("*.png"))


def test_a_pair_given_twice_is_packed_once_and_reported(small_world, tmp_path):
    w = small_world
    pairs = K.read_pairs_csv(w / "pairs-train.csv")
    K.write_pairs_csv(tmp_path / "pairs-train.csv", [*pairs, pairs[0]])
    result = run(["pack", "--images", w / "images", "--keypoints", w / "keypoints", "--parsing", w / "parsing",
                  "--pairs", tmp_path / "pairs-train.csv", "--out", tmp_path / "d.h5", "--json"])  # fmt: skip
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["splits"] == {"train": len(pairs)}
    assert [(d["from"], d["to"]) for d in doc["dropped_pairs"]] == [pairs[0]]
    assert "kept once" in doc["dropped_pairs"][0]["reason"]


def test_an_option_the_design_does_not_read_is_refused(small_world, tmp_path):
    w = small_world
    data = pack(w / "images", w / "keypoints", w / "parsing", [w / "pairs-train.csv", w / "pairs-test.csv"],
                tmp_path / "w.h5", show_progress=False).out  # fmt: skip
    (tmp_path / "m.pt").write_bytes(b"never read")
    base = ["train", "--stage", "2", "--data", data, "--preset", "tiny", "--out", tmp_path / "runs", "--device", "cpu"]
    result = run([*base, "--matcher", tmp_path / "m.pt"])
    assert result.returncode == 2
    one_line_error(result.stderr, "--matcher", "no geometric matcher")
    result = run([*base, "--matcher-steps", "5", "--finetune-matcher"])
    assert result.returncode == 2
    one_line_error(result.stderr, "--matcher-steps, --finetune-matcher", "no geometric matcher")
    result = run([*base, "--vgg", tmp_path / "m.pt"])
    assert result.returncode == 2
    one_line_error(result.stderr, "--vgg", "the VGG loss weight is 0")
    assert not (tmp_path / "runs").exists()
    result = run([*base, "--design", "paper", "--matcher-steps", "0", "--dry-run"])  # a design with a matcher
    assert result.returncode == 0, result.stderr


def test_eval_says_which_given_inputs_its_metrics_do_not_use(small_world, tmp_path):
    w = small_world
    (tmp_path / "inception.pth").write_bytes(b"never read")
    result = run(["eval", "--pred", w / "images", "--gt", w / "images", "--metrics", "ssim", "--keypoints",
                  w / "keypoints", "--fid-real", w / "images", "--inception-weights", tmp_path / "inception.pth",
                  "--json", "--device", "cpu"])  # fmt: skip
    assert result.returncode == 0, result.stderr
    notes = [n for n in json.loads(result.stdout)["notes"] if "is not used" in n]
    assert [n.split()[0] for n in notes] == ["--inception-weights", "--keypoints", "--fid-real"]
    assert "for fid, is, mask-is" in notes[0] and "for mask-ssim, mask-is, pckh" in notes[1]
    result = run(["eval", "--pred", w / "images", "--gt", w / "images", "--metrics", "ssim,mask-ssim", "--keypoints",
                  w / "keypoints", "--json", "--device", "cpu"])  # fmt: skip
    assert result.returncode == 0 and not [n for n in json.loads(result.stdout)["notes"] if "is not used" in n]
