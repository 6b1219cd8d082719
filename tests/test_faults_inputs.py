"""Hostile inputs are bounded before they are decoded: image headers, strips, FIFOs, devices, deep or huge JSON,
NaN keypoints, NUL names, broken CSV. A bad item of a batch is skipped and reported; the rest runs."""

import json
import os
import struct
import threading
import zlib

import numpy as np
import pytest
from cli_runner import cli
from faults import ULIMIT_V, one_line_error, run

from posewarp.errors import PosewarpError
from posewarp.formats import images, jsonfile
from posewarp.formats import keypoints as K
from posewarp.formats import parsing as P
from posewarp.formats.input_file import read_text
from posewarp.synth import generate


def png_header(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims ``width`` x ``height`` pixels (a decompression bomb's calling card)."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


def finishes(fn, seconds: float = 20.0):
    """Run ``fn`` in a thread; fail (instead of hanging the suite) if it blocks."""
    box = {}

    def target():
        try:
            box["value"] = fn()
        except BaseException as exc:  # noqa: BLE001
            box["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), "blocked"
    return box


def test_image_headers_over_the_limits_are_refused_before_decoding(tmp_path, monkeypatch):
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(png_header(30000, 30000))
    with pytest.raises(PosewarpError, match=r"30000x30000 = 900.0 megapixels, over the limit of 100.*max-image-pixels"):
        images.read_image(bomb)
    strip = tmp_path / "strip.png"
    images.write_image(strip, np.zeros((1, 20000, 3), np.uint8))
    with pytest.raises(PosewarpError, match="20000x1, 20000 times longer than wide"):
        images.read_image(strip)
    label = tmp_path / "label.png"
    label.write_bytes(png_header(30000, 30000))
    with pytest.raises(PosewarpError, match="megapixels"):
        P.read_label_png(label)
    monkeypatch.setenv("POSEWARP_MAX_IMAGE_ASPECT", "30000")
    assert images.read_image(strip).shape == (1, 20000, 3)  # the limit is the user's to raise
    monkeypatch.setenv("POSEWARP_MAX_IMAGE_PIXELS", "1e9")
    with pytest.raises(PosewarpError, match="unreadable image"):  # past the header check, the pixels are missing
        images.read_image(bomb)
    monkeypatch.setenv("POSEWARP_MAX_IMAGE_PIXELS", "lots")
    with pytest.raises(PosewarpError, match="POSEWARP_MAX_IMAGE_PIXELS='lots' is not a number"):
        images.read_image(strip)


def test_fifos_devices_and_broken_links_are_refused_without_blocking(tmp_path):
    fifo, zero, broken = tmp_path / "fifo.png", tmp_path / "zero.png", tmp_path / "broken.png"
    os.mkfifo(fifo)
    zero.symlink_to("/dev/zero")
    broken.symlink_to(tmp_path / "nowhere.png")
    for path, why in [(fifo, "FIFO"), (zero, "character device"), (broken, "broken link")]:
        box = finishes(lambda: images.read_image(path))
        assert isinstance(box.get("error"), PosewarpError) and why in str(box["error"]), box
    box = finishes(lambda: K.read_openpose_json(fifo))
    assert "FIFO" in str(box["error"])
    # a batch lists them, so that they are reported as failed items rather than passed over in silence
    images.write_image(tmp_path / "good.png", np.zeros((4, 4, 3), np.uint8))
    assert [p.name for p in images.list_images(tmp_path)] == ["broken.png", "fifo.png", "good.png", "zero.png"]


def test_json_is_bounded_in_depth_and_size_and_standard(tmp_path, monkeypatch):
    deep = tmp_path / "deep.json"
    deep.write_text('{"people": ' + "[" * 200_000 + "]" * 200_000 + "}")
    with pytest.raises(PosewarpError, match="nests 200001 levels deep, over the limit of 32"):
        K.read_openpose_json(deep)
    assert jsonfile.nesting_depth('{"a": "[[[[", "b": [[1], {"c": "]]"}]}') == 3  # brackets in strings don't count
    bom = tmp_path / "bom.json"
    bom.write_bytes(b"\xef\xbb\xbf" + json.dumps(K.to_openpose_dict(K.empty())).encode())
    assert K.read_openpose_json(bom).shape == (1, 18, 3)  # a byte-order mark is not an error
    monkeypatch.setenv("POSEWARP_MAX_JSON_BYTES", "100")
    with pytest.raises(PosewarpError, match="over the limit of 100"):
        K.read_openpose_json(deep)


def test_keypoints_must_be_finite_and_within_reason(tmp_path):
    doc = K.to_openpose_dict(np.ones((18, 3), np.float32))
    doc["people"][0]["pose_keypoints_2d"][3] = 1e39  # parses to inf as float32
    path = tmp_path / "inf.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(PosewarpError, match="NaN or infinite") as info:
        K.read_poses(path)
    assert info.value.path == str(path)
    doc["people"][0]["pose_keypoints_2d"][3] = 1e30
    path.write_text(json.dumps(doc))
    with pytest.raises(PosewarpError, match="beyond any image"):
        K.read_poses(path)
    with pytest.raises(PosewarpError, match="NaN"):
        K.from_patn_row("a.png: [NaN, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]: [1, 1, 1, 1, 1, 1, 1, 1, 1, "
                        "1, 1, 1, 1, 1, 1, 1, 1, 1]")  # fmt: skip


def test_broken_csv_is_one_line_naming_file_and_line(tmp_path, capsys):
    huge = tmp_path / "pairs.csv"
    huge.write_text("from,to\n" + "a" * 200_000 + ",b\n")
    with pytest.raises(PosewarpError, match="line 2: not valid CSV") as info:
        K.read_pairs_csv(huge)
    assert info.value.path == str(huge)
    binary = tmp_path / "binary.csv"
    binary.write_bytes(b"from,to\n\xff\xfe\n")
    with pytest.raises(PosewarpError, match="not a UTF-8 text file"):
        read_text(binary)
    nul = tmp_path / "nul.csv"
    nul.write_text("from,to\na\x00.png,b.png\n")
    images.write_image(tmp_path / "x.png", np.zeros((8, 8, 3), np.uint8))
    code, _, err = cli(["eval", "--pred", tmp_path, "--gt", tmp_path, "--pairs", nul, "--metrics", "ssim"], capsys)
    assert code == 1 and one_line_error(err, str(nul), "line 2: a name contains a NUL byte")


@pytest.mark.parametrize("cap", ["", ULIMIT_V], ids=["unlimited", "ulimit-v"])
def test_pack_skips_and_reports_every_bad_item_and_packs_the_rest_subprocess(tmp_path, cap):
    w = tmp_path / "w"
    generate(w, identities=2, poses_per_identity=3, size=(32, 16), seed=0, test_fraction=0.0, show_progress=False)
    good = sorted(p.name for p in (w / "images").iterdir())
    stem0 = good[0][:-4]
    bad = {"bomb.png": png_header(30000, 30000), "strip.png": images.encode_image(np.zeros((1, 900, 3), np.uint8))}
    for name, data in bad.items():
        (w / "images" / name).write_bytes(data)
    os.mkfifo(w / "images" / "fifo.png")
    (w / "images" / "zero.png").symlink_to("/dev/zero")
    (w / "keypoints" / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    doc = K.to_openpose_dict(np.ones((18, 3), np.float32))
    doc["people"][0]["pose_keypoints_2d"][0] = float("nan")
    (w / "keypoints" / "nan.json").write_text(json.dumps(doc))
    for name in ["bomb", "strip", "fifo", "zero", "deep", "nan"]:
        for folder, suffix in (("parsing", ".png"), ("keypoints", ".json")):
            if not (w / folder / f"{name}{suffix}").exists():
                (w / folder / f"{name}{suffix}").write_bytes((w / folder / f"{stem0}{suffix}").read_bytes())
    for name in ["deep", "nan"]:
        (w / "images" / f"{name}.png").write_bytes((w / "images" / good[0]).read_bytes())
    rows = [(good[0], good[1])] + [(good[0], f"{n}.png") for n in ["bomb", "strip", "fifo", "zero", "deep", "nan"]]
    rows.append((good[0], "x\x00y.png"))
    K.write_pairs_csv(w / "pairs-train.csv", rows)
    result = run(["pack", "--images", w / "images", "--keypoints", w / "keypoints", "--parsing", w / "parsing",
                  "--pairs", w / "pairs-train.csv", "--out", tmp_path / "d.h5", "--json"], setup=cap)  # fmt: skip
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    reasons = {item["name"]: item["reason"] for item in report["excluded"]}
    assert report["num_images"] == 2 and report["splits"] == {"train": 1}
    expected = {"bomb.png": "megapixels", "strip.png": "times longer than wide", "fifo.png": "FIFO",
                "zero.png": "character device", "deep.png": "levels deep", "nan.png": "NaN or infinite",
                "x\\x00y.png": "NUL"}  # fmt: skip (HDF5 strings cannot hold NUL: the report escapes it)
    assert reasons.keys() == expected.keys()
    for name, words in expected.items():
        assert words in reasons[name], (name, reasons[name])
