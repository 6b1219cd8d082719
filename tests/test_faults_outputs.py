"""Faults on outputs: a folder or file in the way, a parent that is a file, read-only places, full disks, long
names. Each ends in one line naming the path (exit 1), before the work where it can be, with no temp file left."""

import errno
import os

import numpy as np
import pytest
from cli_runner import cli
from faults import ENOSPC_AT, UNSHARE, mounted, one_line_error, packed_world, run, temp_files

from posewarp.data import pack, schema
from posewarp.errors import OutputError
from posewarp.formats import atomic, images, outputs
from posewarp.transfer_batch import transfer_dataset


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    return packed_world(tmp_path_factory.mktemp("world"))


def pack_args(w, out):
    return ["pack", "--images", w / "images", "--keypoints", w / "keypoints", "--parsing", w / "parsing",
            "--pairs", w / "pairs-train.csv", "--out", out]  # fmt: skip


def test_outputs_in_the_way_fail_before_the_work_with_one_line(world, tmp_path, capsys, monkeypatch):
    w, data = world
    folder, a_file = tmp_path / "a-folder", tmp_path / "a-file"
    folder.mkdir()
    a_file.write_text("x")
    src, pose = w / "images" / "id0000_pose00.png", w / "keypoints" / "id0000_pose01.json"
    cases = [
        (pack_args(w, folder), folder, "it is a folder"),
        (pack_args(w, a_file / "x.h5"), a_file / "x.h5", "is a file, not a folder"),
        (pack_args(w, w / "pairs-train.csv"), w / "pairs-train.csv", "also --pairs", 2),
        (["info", data, "--preview", folder], folder, "it is a folder"),
        (["info", data, "--preview", tmp_path / "g.txt"], tmp_path / "g.txt", "--preview must end in one of", 2),
        (["transfer", src, "--pose", pose, "--out", folder], folder, "it is a folder"),
        (["transfer", src, "--pose", pose, "--out", tmp_path / "o.png", "--grid", folder], folder, "it is a folder"),
        (["transfer", "--data", data, "--out", a_file], a_file, "not a folder"),
        (["synth", a_file, "-n", "1", "-k", "2"], a_file, "not a folder"),
        (["keypoints", w / "images", "--out", a_file], a_file, "not a folder"),
        (["keypoints", w / "images", "--out", tmp_path / "kp", "--annotations", folder], folder, "it is a folder"),
        (["keypoints", w / "images", "--out", tmp_path / "kp", "--overlay", w / "images" / "ov"], w / "images" / "ov",
         "outside the image folder"),
        (["parse", w / "images", "--out", a_file], a_file, "not a folder"),
        (["train", "--stage", "1", "--data", data, "--preset", "tiny", "--out", a_file], a_file, "not a folder"),
        (["demo", "--out", a_file], a_file, "not a folder"),
        (["transfer", src, "--pose", pose, "--out", src], src, "also the source image SRC", 2),  # two options: usage
        (["transfer", src, "--pose", pose, "--out", tmp_path / ("n" * 252 + ".png")], "n" * 252, "the name is 256 bytes"),
    ]  # fmt: skip
    for args, path, why, *code_wanted in cases:
        code, _, err = cli(args, capsys)
        assert code == (code_wanted or [1])[0], (args, err)
        one_line_error(err, str(path), why)
    monkeypatch.setenv("POSEWARP_HOME", str(a_file))
    code, _, err = cli(["weights", "download", "openpose"], capsys)
    assert code == 1 and one_line_error(err, str(a_file), "not a folder")
    code, _, err = cli(["keypoints", w / "images", "--out", tmp_path / "kp"], capsys)
    assert code == 1 and one_line_error(err, "POSEWARP_HOME", "not a folder")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file", "a-folder"]  # nothing was started
    assert a_file.read_text() == "x" and not any(folder.iterdir()) and temp_files(w) == []


def test_a_long_legal_name_is_written_and_temp_names_stay_within_the_limit(world, tmp_path):
    w, _ = world
    name = "x" * 240 + ".h5"  # 243 bytes: '.partial' and a temp prefix would push it past 255
    report = pack(w / "images", w / "keypoints", w / "parsing", [w / "pairs-train.csv"], tmp_path / name,
                  show_progress=False)  # fmt: skip
    assert report.out.is_file() and sorted(p.name for p in tmp_path.iterdir()) == [name]
    longest = tmp_path / ("y" * 255)
    assert len(schema.partial_path(longest).name.encode()) <= 255
    assert schema.partial_path(longest) == schema.partial_path(longest)  # the same every time: --resume finds it
    prefix, tail = atomic.temp_affixes(longest, ".png")
    assert len((prefix + "ABCDEFGH" + tail).encode()) <= 255
    atomic.write_text(longest, "ok")
    assert longest.read_text() == "ok" and temp_files(tmp_path) == []


def test_a_failed_write_names_the_output_and_leaves_no_temp_file(tmp_path, monkeypatch):
    def full(self, data):
        raise OSError(errno.ENOSPC, "No space left on device")

    target = tmp_path / "sub" / "picture.png"
    monkeypatch.setattr(type(target), "write_bytes", full)
    with pytest.raises(OutputError, match="no space left on the device; free some space") as info:
        images.write_image(target, np.zeros((4, 4, 3), np.uint8))
    assert info.value.path == str(target) and temp_files(tmp_path) == [] and not target.exists()


def test_os_errors_are_worded_by_cause(tmp_path):
    for code, words in [(errno.EROFS, "read-only"), (errno.EACCES, "permission denied"), (errno.EDQUOT, "quota"),
                        (errno.ENAMETOOLONG, "too long")]:  # fmt: skip
        assert words in str(outputs.os_error(OSError(code, os.strerror(code)), tmp_path / "x"))


def test_read_only_output_folder_subprocess(world, tmp_path):
    """A read-only mount where the system allows one, else (not as root) a folder without write permission."""
    w, _ = world
    ro = tmp_path / "ro"
    ro.mkdir()
    if UNSHARE or os.geteuid() == 0:
        result, why = run(pack_args(w, ro / "x.h5"), wrap=mounted(ro, "ro")), "read-only"
    else:
        ro.chmod(0o555)
        result, why = run(pack_args(w, ro / "x.h5")), "permission denied"
    assert result.returncode == 1, result.stderr
    one_line_error(result.stderr, str(ro / "x.h5"), why)
    assert not any(ro.iterdir())


def test_full_disk_in_a_batch_job_stops_it_keeping_finished_outputs_subprocess(world, tmp_path):
    """transfer --data on a disk that fills up after two pairs (the 6th write): one line, what was written is whole, no temp
    file; after space is freed the same command finishes the job."""
    w, data = world
    out = tmp_path / "results"
    args = ["transfer", "--data", data, "--split", "test", "--out", out, "--device", "cpu", "--fit-pack"]
    setup = ENOSPC_AT + "import pathlib\nenospc_at(pathlib.Path, 'write_bytes', 6)\n"
    result = run(args, setup=setup)
    assert result.returncode == 1, result.stderr
    one_line_error(result.stderr, "no space left on the device", str(out))
    written = sorted(p for p in out.rglob("*.png"))
    assert len(written) == 4 and temp_files(out) == []
    for p in written:
        images.read_image(p)  # complete files
    doc = transfer_dataset(data, "test", out, device="cpu", fit_pack=True, show_progress=False)
    assert doc["resumed_after"] == 2 and doc["pairs"] == 6
    assert len(list((out / "pred").rglob("*.png"))) == 6 and (out / "pairs.csv").is_file()


def test_a_batch_job_skips_bad_items_but_stops_at_an_unwritable_output(tmp_path):
    from posewarp.errors import PosewarpError
    from posewarp.preprocess import batch as B

    items = [B.BatchItem(image=tmp_path / f"{i}.png", name=f"{i}.png", output=tmp_path / f"{i}.json") for i in range(5)]

    def process(chunk, names):
        for item in chunk:
            if item.name == "1.png":
                raise PosewarpError("unreadable image", item.image)
            if item.name == "3.png":
                raise OutputError("cannot write: no space left on the device", item.output)

    report = B.BatchReport()
    with pytest.raises(OutputError, match="no space left"):
        B.run_batch(items, process, read=lambda item: item.name, batch_size=1, description="t", report=report,
                    show_progress=False)  # fmt: skip
    assert report.done == 2 and report.failed == [("1.png", "unreadable image")]  # 4.png was never tried
