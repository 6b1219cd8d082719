"""Batch-job machinery shared by `posewarp keypoints` and `posewarp parse`: plan, shard, resume, retry."""

import numpy as np
import pytest

from posewarp.errors import PosewarpError
from posewarp.formats import atomic, images
from posewarp.preprocess import batch as B


@pytest.fixture
def folder(tmp_path):
    root = tmp_path / "in"
    rng = np.random.default_rng(0)
    for rel in ["a.jpg", "b.png", "sub/c.JPG", "sub/deep/d.webp", "e.png"]:
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        images.write_image(path.with_suffix(path.suffix.lower()), rng.integers(0, 255, (8, 6, 3), dtype=np.uint8))
        if rel.endswith(".JPG"):
            path.with_suffix(".jpg").rename(path)
    (root / "notes.txt").write_text("not an image")
    return root


def test_parse_shard():
    assert B.parse_shard(None) is None
    assert B.parse_shard("0/1") == (0, 1) and B.parse_shard(" 3/4 ") == (3, 4)
    for bad in ["4/4", "-1/2", "1", "a/b", "1/0", "1/2/3"]:
        with pytest.raises(PosewarpError):
            B.parse_shard(bad)


def test_plan_keeps_subfolders_and_replaces_the_suffix(folder, tmp_path):
    todo, skipped = B.plan_batch(folder, tmp_path / "out", ".json")
    assert skipped == 0
    assert [i.name for i in todo] == ["a.jpg", "b.png", "e.png", "sub/c.JPG", "sub/deep/d.webp"]
    assert todo[3].output == tmp_path / "out" / "sub" / "c.json"
    assert todo[4].image == folder / "sub" / "deep" / "d.webp"
    assert B.output_path(tmp_path, "x/y.z.png", "_parsing.png") == tmp_path / "x" / "y.z_parsing.png"


def test_shards_split_the_sorted_list_and_cover_it_once(folder, tmp_path):
    names = [[i.name for i in B.plan_batch(folder, tmp_path, ".json", shard=(s, 3))[0]] for s in range(3)]
    assert names[0] == ["a.jpg", "sub/c.JPG"] and names[1] == ["b.png", "sub/deep/d.webp"] and names[2] == ["e.png"]


def test_existing_outputs_are_skipped_unless_overwrite(folder, tmp_path):
    out = tmp_path / "out"
    atomic.write_text(out / "b.json", "{}")
    atomic.write_text(out / "sub" / "c.json", "{}")
    todo, skipped = B.plan_batch(folder, out, ".json")
    assert skipped == 2 and [i.name for i in todo] == ["a.jpg", "e.png", "sub/deep/d.webp"]
    todo, skipped = B.plan_batch(folder, out, ".json", overwrite=True)
    assert skipped == 0 and len(todo) == 5


def test_two_images_writing_one_output_is_an_error(folder, tmp_path):
    images.write_image(folder / "a.png", np.zeros((4, 4, 3), np.uint8))
    with pytest.raises(PosewarpError, match="both write"):
        B.plan_batch(folder, tmp_path / "out", ".json")


def test_run_batch_reads_ahead_and_skips_unreadable_items(folder, tmp_path):
    (folder / "b.png").write_bytes(b"corrupt")
    todo, _ = B.plan_batch(folder, tmp_path / "out", ".txt")
    calls = []
    report = B.BatchReport(counts={"pixels": 0})

    def process(items, rgbs):
        calls.append([i.name for i in items])
        for item, rgb in zip(items, rgbs):
            atomic.write_text(item.output, str(rgb.shape))
            report.count("pixels", rgb.shape[0] * rgb.shape[1])

    B.run_batch(todo, process, read=B.read_rgb, batch_size=2, description="test", report=report, show_progress=False)
    assert calls == [["a.jpg"], ["e.png", "sub/c.JPG"], ["sub/deep/d.webp"]]  # b.png never reaches the network
    assert report.done == 4 and report.failed == [("b.png", "not an image file")]
    assert report.counts == {"pixels": 4 * 48}
    assert (tmp_path / "out" / "a.txt").read_text() == "(8, 6, 3)" and not (tmp_path / "out" / "b.txt").exists()
    doc = report.as_dict()
    assert doc["done"] == 4 and doc["pixels"] == 192
    assert doc["failed"] == [{"name": "b.png", "reason": "not an image file"}]
    table = report.table()
    assert table.row_count == 5  # done, skipped, failed, pixels, the failure


def test_a_failing_chunk_is_retried_item_by_item(folder, tmp_path):
    todo, _ = B.plan_batch(folder, tmp_path / "out", ".txt")
    calls = []
    report = B.BatchReport()

    def process(items, names):
        calls.append(list(names))
        if "b.png" in names:
            raise PosewarpError("refused", items[names.index("b.png")].image)
        report.count("written", len(items))

    B.run_batch(todo, process, read=lambda item: item.name, batch_size=2, description="t", report=report,
                show_progress=False)  # fmt: skip
    assert calls == [["a.jpg", "b.png"], ["a.jpg"], ["b.png"], ["e.png", "sub/c.JPG"], ["sub/deep/d.webp"]]
    assert report.done == 4 and [name for name, _ in report.failed] == ["b.png"]
    assert report.counts == {"written": 4}  # the failed chunk counted nothing twice


def test_order_by_groups_equal_keys_and_keeps_their_order(folder, tmp_path):
    todo, _ = B.plan_batch(folder, tmp_path / "out", ".txt")
    ordered = B.order_by(todo, lambda item: item.name.count("/"))
    assert [i.name for i in ordered] == ["a.jpg", "b.png", "e.png", "sub/c.JPG", "sub/deep/d.webp"]
    ordered = B.order_by(todo, lambda item: item.name.endswith(".png"))
    assert [i.name for i in ordered] == ["a.jpg", "sub/c.JPG", "sub/deep/d.webp", "b.png", "e.png"]


def test_header_size_applies_the_exif_rotation(tmp_path):
    from PIL import Image

    path = tmp_path / "rotated.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees: the stored 10x4 (w x h) picture is shown 4 wide, 10 high
    Image.new("RGB", (10, 4)).save(path, exif=exif)
    assert images.header_size(path) == (10, 4) == images.read_image(path).shape[:2]
    (tmp_path / "junk.jpg").write_bytes(b"junk")
    assert images.header_size(tmp_path / "junk.jpg") is None


def test_other_exceptions_are_not_swallowed(folder, tmp_path):
    todo, _ = B.plan_batch(folder, tmp_path / "out", ".txt")

    def process(items, inputs):
        raise RuntimeError("a bug")

    with pytest.raises(RuntimeError):
        B.run_batch(todo, process, read=B.read_rgb, description="test", report=B.BatchReport(), show_progress=False)
