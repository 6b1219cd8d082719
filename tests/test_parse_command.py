"""`posewarp parse` end to end on synthetic images with seeded random SCHP weights: outputs, resume, shards, errors."""

import json

import numpy as np
import pytest
import torch
from cli_runner import cli
from PIL import Image
from test_parse_network import random_schp_state

from posewarp.formats import images, parsing
from posewarp.preprocess import parser as P

FAST = ["--device", "cpu", "--input-size", "32"]  # a 32 px network input keeps the ResNet-101 quick on CPU


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    # Half precision halves the file; the loader copies into the float32 network.
    state = {k: v.half() for k, v in random_schp_state(seed=7).items()}
    path = tmp_path_factory.mktemp("schp") / "schp-lip-random.pth"
    torch.save({"state_dict": state}, path)
    return path


@pytest.fixture
def folder(tmp_path):
    src = tmp_path / "images"
    rng = np.random.default_rng(0)
    for rel, shape in [("a.png", (37, 23)), ("sub/b.jpg", (30, 45)), ("c.png", (40, 40))]:
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        images.write_image(src / rel, rng.integers(0, 255, (*shape, 3), dtype=np.uint8))
    (src / "corrupt.jpg").write_bytes(images.encode_image(np.zeros((20, 20, 3), np.uint8), ".jpg")[:40])
    (src / "text.png").write_text("hello")
    return src


def test_missing_weights_name_the_download_command(folder, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("POSEWARP_HOME", str(tmp_path / "empty-home"))
    code, _, err = cli(["parse", folder, "--out", tmp_path / "out"], capsys)
    assert code == 1 and "posewarp weights download schp-lip" in err  # nothing downloads implicitly


def test_command_end_to_end(weights, folder, tmp_path, capsys):
    out, ov = tmp_path / "out", tmp_path / "ov"
    args = ["parse", folder, "--out", out, "--weights", weights, *FAST, "--json"]
    code, stdout, _ = cli(args + ["--logits", "--overlay", ov, "--batch-size", "2", "--flip"], capsys)
    doc = json.loads(stdout)
    assert code == 0 and doc["done"] == 3 and doc["skipped"] == 0
    assert sorted(f["name"] for f in doc["failed"]) == ["corrupt.jpg", "text.png"]  # reported and skipped
    assert doc["labels"][10] == "jumpsuits" and len(doc["labels"]) == 20
    assert sum(v for k, v in doc.items() if k.endswith("(% of pixels)")) == pytest.approx(100, abs=0.1)

    parser = P.HumanParser(weights, device="cpu", input_size=32, flip=True)
    for rel in ["a.png", "sub/b.jpg", "c.png"]:
        rgb = images.read_image(folder / rel)
        stem = rel.rsplit(".", 1)[0]
        with Image.open(out / f"{stem}.png") as img:
            assert img.mode == "P" and img.size == (rgb.shape[1], rgb.shape[0])
        labels = parsing.read_label_png(out / f"{stem}.png")
        scores = np.load(out / f"{stem}.npy")
        assert scores.shape == (*rgb.shape[:2], 20) and scores.dtype == np.float32
        np.testing.assert_array_equal(np.argmax(scores, axis=2), labels)
        # The batched run equals the library called one image at a time (up to float rounding across batch sizes).
        np.testing.assert_allclose(scores, parser.logits(rgb), rtol=0, atol=1e-4 * np.abs(scores).max())
        assert images.read_image(ov / f"{stem}.png").shape == rgb.shape
    assert not list(out.rglob(".*tmp*"))  # no temp files left behind

    code, stdout, _ = cli(args + ["--label-set", "cihp"], capsys)  # resume: done images are skipped
    doc = json.loads(stdout)
    assert code == 0 and doc["done"] == 0 and doc["skipped"] == 3 and len(doc["failed"]) == 2
    assert doc["labels"][10] == "torso-skin"

    before = (out / "a.png").stat().st_mtime_ns
    code, stdout, _ = cli(args + ["--overwrite"], capsys)
    assert code == 0 and json.loads(stdout)["done"] == 3 and (out / "a.png").stat().st_mtime_ns != before


def test_shards_and_table(weights, folder, tmp_path, capsys):
    # sorted: a.png, c.png, corrupt.jpg, sub/b.jpg, text.png -> shard 1/2 = c.png, sub/b.jpg
    code, _, err = cli(["parse", folder, "--out", tmp_path / "s", "--weights", weights, *FAST, "--shard", "1/2"], capsys)
    assert code == 0 and "done" in err and "failed" in err
    assert sorted(p.name for p in (tmp_path / "s").rglob("*.png")) == ["b.png", "c.png"]


def test_bad_input_and_usage(weights, folder, tmp_path, capsys):
    bad_only = tmp_path / "bad-only"
    bad_only.mkdir()
    (bad_only / "x.png").write_text("nope")
    code, _, err = cli(["parse", bad_only, "--out", tmp_path / "o2", "--weights", weights, *FAST], capsys)
    assert code == 1 and "no image could be processed" in err
    code, _, err = cli(["parse", folder, "--out", folder / "parsing", "--weights", weights, *FAST], capsys)
    assert code == 1 and "outside the image folder" in err
    code, _, err = cli(["parse", folder, "--out", tmp_path / "o3", "--weights", weights, "--dataset", "atr"], capsys)
    assert code == 1 and "--dataset lip" in err  # a LIP checkpoint named as ATR: the error says which it is
    for extra in (["--dataset", "coco"], ["--label-set", "cihp", "--dataset", "atr"], ["--shard", "2/2"],
                  ["--scales", "0,1"], ["--device", "tpu"]):  # fmt: skip
        code, _, _ = cli(["parse", folder, "--out", tmp_path / "o4", *extra], capsys)
        assert code == 2, extra
