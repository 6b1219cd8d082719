"""Inputs are never overwritten, and no output overwrites another: each command, as a `posewarp` process, given an
output that is one of its inputs (named, found beside an image, listed in a folder, through a link) or another of
its outputs. One line naming both, exit 1 (2 when both were options), before any work, and every file unchanged."""

import hashlib
import os

import pytest
from faults import one_line_error, packed_world, run, temp_files
from test_prepare import fashion_tree



@pytest.fixture(scope="module")
def world(tmp_path_factory):
    return packed_world(tmp_path_factory.mktemp("world"))


def digest(folder):
    """Every file under ``folder`` and its content, to show that nothing changed."""
    return {p.relative_to(folder): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*"))
            if p.is_file()}  # fmt: skip


def refused(args, code, *needles, env=None):
    result = run(args, env={"POSEWARP_HOME": "/nonexistent-posewarp-home", **(env or {})})
    assert result.returncode == code, result.stderr
    return one_line_error(result.stderr, *needles)


def test_transfer_never_writes_over_the_parsing_it_found_beside_the_image(world):
    w, _ = world
    before = digest(w)
    src, pose = w / "images" / "id0000_pose00.png", w / "keypoints" / "id0000_pose01.json"
    beside = w / "parsing" / "id0000_pose00.png"
    refused(["transfer", src, "--pose", pose, "--out", beside], 1, str(beside), "source parsing found beside the image")
    assert digest(w) == before


def test_transfer_output_options_that_are_one_file(world, tmp_path):
    w, _ = world
    src, pose = w / "images" / "id0000_pose00.png", w / "keypoints" / "id0000_pose01.json"
    out = tmp_path / "o.png"
    line = refused(["transfer", src, "--pose", pose, "--out", out, "--grid", out], 2, "--grid", "--out", str(out))
    assert line.count(str(out)) == 2
    link, hard = tmp_path / "link.png", tmp_path / "hard.png"
    link.symlink_to(src)
    os.link(src, hard)
    for alias in (link, hard):
        refused(["transfer", src, "--pose", pose, "--out", alias], 2, str(alias), "the source image SRC", str(src))
    refused(["transfer", src, "--pose", pose, "--out", tmp_path / "p.png", "--src-pose", tmp_path / "p.png"], 2,
            "--src-pose")  # fmt: skip
    dangling = tmp_path / "dangling.png"
    dangling.symlink_to(tmp_path / "o.png")
    refused(["transfer", src, "--pose", pose, "--out", out, "--grid", dangling], 2, "--grid", "--out")
    refused(["transfer", src, "--pose", pose, "--out", tmp_path / "g.txt"], 2, "--out must end in one of")
    refused(["transfer", src, "--pose", pose, "--out", tmp_path / "x.png", "--grid", tmp_path / "g.txt"], 2,
            "--grid must end in one of")  # fmt: skip
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dangling.png", "hard.png", "link.png"]


def test_batch_transfer_never_writes_its_grid_over_a_result(world, tmp_path):
    from posewarp.data import PairDataset

    _, data = world
    out = tmp_path / "results"
    src_name, tgt_name = PairDataset(data, "test", maps=False).pair_names(0)
    first = out / "gt" / tgt_name
    refused(["transfer", "--data", data, "--out", out, "--grid", first], 2, "--grid", "--out", str(first))
    refused(["transfer", "--data", data, "--out", out, "--grid", out / "pairs.csv"], 2, "--grid must end in")
    assert not out.exists() or not any(out.rglob("*.png"))


def test_keypoints_never_writes_its_csv_over_an_image(world):
    w, _ = world
    before = digest(w)
    image = w / "images" / "id0001_pose00.png"
    refused(["keypoints", w / "images", "--out", w.parent / "kp", "--annotations", image], 1, "--annotations",
            str(image), "an input image")  # fmt: skip
    assert digest(w) == before and not (w.parent / "kp").exists()


def test_parse_overlays_and_labels_in_one_folder_are_refused(world, tmp_path):
    w, _ = world
    folder = tmp_path / "P"
    refused(["parse", w / "images", "--out", folder, "--overlay", folder], 2, "--overlay", "--out")
    assert not folder.exists() or not any(folder.iterdir())


def test_pack_never_writes_over_a_label_map(world):
    w, _ = world
    before = digest(w)
    target = w / "parsing" / "id0000_pose00.png"
    refused(["pack", "--images", w / "images", "--keypoints", w / "keypoints", "--parsing", w / "parsing",
             "--pairs", w / "pairs-train.csv", "--out", target], 1, str(target), "an input label map")  # fmt: skip
    assert digest(w) == before and temp_files(w) == []


def test_prepare_never_writes_into_its_input_tree(tmp_path):
    root = tmp_path / "In-shop"
    fashion_tree(root)
    before = digest(root)
    refused(["prepare", "deepfashion", root, "--out", root], 2, "--out is the input folder ROOT", "train.lst")
    lists = tmp_path / "lists"
    lists.mkdir()
    for f in root.glob("*.*"):
        (lists / f.name).write_bytes(f.read_bytes())
    refused(["prepare", "deepfashion", root, "--lists", lists, "--out", lists], 2, "--out is the input folder --lists")
    (tmp_path / "root-link").symlink_to(root)
    refused(["prepare", "deepfashion", root, "--out", tmp_path / "root-link"], 2, "--out is the input folder ROOT")
    assert digest(root) == before and sorted(p.name for p in lists.iterdir()) == sorted(
        f.name for f in root.glob("*.*"))  # fmt: skip
    result = run(["prepare", "deepfashion", root, "--out", tmp_path / "ok", "--json"])
    assert result.returncode == 0, result.stderr  # the same inputs with another --out work
