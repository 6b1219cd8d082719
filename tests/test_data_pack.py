"""posewarp pack / info: exact round trip, fitting, validation, interrupted packs, schema versions."""

import json

import h5py
import numpy as np
import pytest

from posewarp.data import PairDataset, describe, pack, packer, preview, schema, sources, splits
from posewarp.errors import PosewarpError, SchemaError
from posewarp.formats import images as I
from posewarp.formats import keypoints as K
from posewarp.formats import parsing as P


def make_person(rng, h, w, missing=(4, 17)):
    kp = np.zeros((18, 3), np.float32)
    kp[:, 0] = rng.uniform(0, w - 1, 18).round(2)
    kp[:, 1] = rng.uniform(0, h - 1, 18).round(2)
    kp[:, 2] = rng.uniform(0.3, 1.0, 18).round(3)
    kp[list(missing)] = 0
    return kp


def make_set(root, ids=3, poses=3, size=(32, 24), suffix=".png", seed=0):
    """Loose files as `posewarp pack` expects them: images/, keypoints/*.json, parsing/*.png, pairs CSVs."""
    rng = np.random.default_rng(seed)
    h, w = size
    truth = {}
    for i in range(ids):
        for j in range(poses):
            name = f"id{i:02d}_pose{j:02d}{suffix}"
            rgb = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
            labels = rng.integers(0, 20, (h, w), dtype=np.uint8)
            person = make_person(rng, h, w)
            ghost = person.copy()
            ghost[:, 2] *= 0.1  # a second, weaker detection: select_person("best") must skip it
            I.write_image(root / "images" / name, rgb)
            P.write_label_png(root / "parsing" / (name.rsplit(".", 1)[0] + ".png"), labels)
            K.write_openpose_json(root / "keypoints" / (name.rsplit(".", 1)[0] + ".json"), np.stack([ghost, person]))
            truth[name] = (rgb, labels, person)
    names = sorted(truth)
    train = [(a, b) for a in names[: len(names) - poses] for b in names[: len(names) - poses] if a != b and a[:4] == b[:4]]
    test = [(a, b) for a in names[-poses:] for b in names[-poses:] if a != b]
    K.write_pairs_csv(root / "pairs-train.csv", train)
    K.write_pairs_csv(root / "pairs-test.csv", test)
    return truth, {"train": train, "test": test}


def run_pack(root, out=None, **kw):
    kw.setdefault("show_progress", False)
    return pack(
        root / "images", root / "keypoints", root / "parsing",
        [root / "pairs-train.csv", root / "pairs-test.csv"], out or root / "data.h5", **kw,
    )  # fmt: skip


def test_pack_reads_back_exact_pixels_labels_keypoints(tmp_path):
    truth, pairs = make_set(tmp_path)
    report = run_pack(tmp_path)
    assert report.ok and report.num_images == len(truth) and report.splits == {"train": 12, "test": 6}
    assert splits(report.out) == ["test", "train"]
    with h5py.File(report.out) as f:
        assert f.attrs["schema_version"] == schema.SCHEMA_VERSION and f.attrs["state"] == "complete"
        assert f["images"].chunks == (1, 32, 24, 3) and f["parsing"].compression == "gzip"
        names = [schema.text(n) for n in f["names"][:]]
        assert names == sorted(truth)
        for i, name in enumerate(names):
            rgb, labels, person = truth[name]
            np.testing.assert_array_equal(f["images"][i], rgb)
            np.testing.assert_array_equal(f["parsing"][i], labels)
            np.testing.assert_allclose(f["keypoints"][i], person, atol=1e-3)
        for split, rows in pairs.items():
            got = [(names[a], names[b]) for a, b in f["pairs"][split][:]]
            assert got == rows and f["pairs"][split].dtype == np.int32
    doc = describe(report.out)
    assert doc["num_images"] == 9 and doc["splits"] == {"test": 6, "train": 12}
    assert doc["missing_keypoints"]["right_wrist"] == 1.0 and doc["missing_keypoints"]["nose"] == 0.0
    all_labels = np.stack([t[1] for t in truth.values()])
    expected = np.bincount(all_labels.ravel(), minlength=20) / all_labels.size
    np.testing.assert_allclose([lab["pixel_fraction"] for lab in doc["labels"]], expected, atol=1e-5)
    grid = I.read_image(preview(report.out, tmp_path / "grid.png", split="test", num_pairs=2))
    assert grid.shape[0] > 2 * 32 and grid.shape[1] > 6 * 24


def test_jpeg_encoding_keeps_the_source_bytes(tmp_path):
    truth, _ = make_set(tmp_path, ids=2, poses=2, suffix=".jpg")
    report = run_pack(tmp_path, encode="jpeg")
    with h5py.File(report.out) as f:
        for i, name in enumerate(schema.text(n) for n in f["names"][:]):
            assert f["images"][i].tobytes() == (tmp_path / "images" / name).read_bytes()
    ds = PairDataset(report.out, "train")
    item = ds[0]
    src = I.read_image(tmp_path / "images" / item["src_name"])
    np.testing.assert_array_equal(I.to_uint8(item["src_image"]), src)


def planted_set(root, size, block, margin=0):
    """Each keypoint sits on its own square of a known label, so fitting can be checked part by part."""
    h, w = size
    rng = np.random.default_rng(3)
    kp = np.zeros((18, 3), np.float32)
    labels = np.zeros(size, np.uint8)
    taken = np.zeros(size, bool)
    for i in range(18):
        while True:
            x, y = int(rng.integers(block + margin, w - block - margin)), int(rng.integers(block, h - block))
            if not taken[max(0, y - block - 1) : y + block + 2, max(0, x - block - 1) : x + block + 2].any():
                break
        taken[y - block : y + block + 1, x - block : x + block + 1] = True
        labels[y - block : y + block + 1, x - block : x + block + 1] = i % 19 + 1
        kp[i] = (x, y, 1.0)
    rgb = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    for sub in ("images", "parsing", "keypoints"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    I.write_image(root / "images" / "a.png", rgb)
    P.write_label_png(root / "parsing" / "a.png", labels)
    K.write_openpose_json(root / "keypoints" / "a.json", kp)
    K.write_pairs_csv(root / "pairs-train.csv", [("a.png", "a.png")])
    K.write_pairs_csv(root / "pairs-test.csv", [("a.png", "a.png")])
    return rgb, labels, kp


@pytest.mark.parametrize("src,out,fit", [((64, 64), (64, 44), "crop"), ((96, 72), (48, 36), "resize"), ((64, 40), (64, 64), "pad")])
def test_fitting_keeps_keypoints_on_their_body_parts(tmp_path, src, out, fit):
    rgb, labels, kp = planted_set(tmp_path, src, block=2, margin=10 if fit == "crop" else 0)
    run_pack(tmp_path, size=out, fit=fit)
    with h5py.File(tmp_path / "data.h5") as f:
        got_kp, got_labels, got_rgb = f["keypoints"][0], f["parsing"][0], f["images"][0]
        assert tuple(f.attrs["image_size"]) == out
    assert K.visible(got_kp).all()
    for i in range(18):
        x, y = int(round(got_kp[i, 0])), int(round(got_kp[i, 1]))
        assert got_labels[y, x] == i % 19 + 1, f"keypoint {i} left its body part"
    if fit == "crop":  # the DeepFashion case: a pure shift of x by -(64-44)/2, no resampling
        np.testing.assert_array_equal(got_rgb, rgb[:, 10:54])
        np.testing.assert_array_equal(got_labels, labels[:, 10:54])
        np.testing.assert_allclose(got_kp[:, 0], kp[:, 0] - 10)


def test_bad_items_are_reported_not_packed(tmp_path):
    make_set(tmp_path)
    (tmp_path / "secret.png").write_bytes((tmp_path / "images" / "id00_pose00.png").read_bytes())
    P.write_label_png(tmp_path / "parsing" / "id00_pose01.png", np.zeros((30, 24), np.uint8))  # wrong size
    P.write_label_png(tmp_path / "parsing" / "id00_pose02.png", np.full((32, 24), 25, np.uint8))  # label id 25
    I.write_image(tmp_path / "images" / "id02_pose00.png", np.zeros((30, 20, 3), np.uint8))  # another size
    P.write_label_png(tmp_path / "parsing" / "id02_pose00.png", np.zeros((30, 20), np.uint8))
    K.write_openpose_json(tmp_path / "keypoints" / "id02_pose00.json", K.empty())
    far = make_person(np.random.default_rng(9), 32, 24)
    far[3, 0] = 80.0
    K.write_openpose_json(tmp_path / "keypoints" / "id01_pose00.json", far)  # a point outside the image
    rows = K.read_pairs_csv(tmp_path / "pairs-train.csv")
    rows += [("id01_pose01.png", "missing.png"), ("../secret.png", "id01_pose01.png")]
    K.write_pairs_csv(tmp_path / "pairs-train.csv", rows)

    report = run_pack(tmp_path)
    bad = dict(report.excluded)
    assert set(bad) == {"id00_pose01.png", "id00_pose02.png", "id01_pose00.png", "id02_pose00.png", "missing.png",
                        "../secret.png"}  # fmt: skip
    assert "--size" in bad["id02_pose00.png"]
    assert "30x24" in bad["id00_pose01.png"] and "25" in bad["id00_pose02.png"]
    assert "outside" in bad["id01_pose00.png"] and "not found" in bad["missing.png"] and ".." in bad["../secret.png"]
    assert all(("missing.png" in (a, b)) or any(n in bad for n in (a, b)) for _, a, b, _ in report.dropped_pairs)
    with h5py.File(report.out) as f:
        names = {schema.text(n) for n in f["names"][:]}
        assert not names & set(bad) and len(names) == 9 - 4
        assert len(f["excluded"]) == 6
        for split in ("train", "test"):
            assert (f["pairs"][split][:] < len(names)).all()
    assert describe(report.out)["excluded"][0]["reason"]

    with pytest.raises(PosewarpError, match="strict"):
        run_pack(tmp_path, out=tmp_path / "strict.h5", strict=True)
    assert not (tmp_path / "strict.h5").exists() and not schema.partial_path(tmp_path / "strict.h5").exists()


def test_interrupted_pack_leaves_no_complete_file_and_resumes(tmp_path, monkeypatch):
    make_set(tmp_path, ids=4, poses=4)
    clean = run_pack(tmp_path, out=tmp_path / "clean.h5")
    monkeypatch.setattr(packer, "BATCH", 3)
    load = sources.Inputs.load
    calls, fail_at = [], [8]

    def failing(self, name, *a, **kw):
        calls.append(name)
        if len(calls) == fail_at[0]:
            raise RuntimeError("disk on fire")
        return load(self, name, *a, **kw)

    monkeypatch.setattr(sources.Inputs, "load", failing)
    out = tmp_path / "data.h5"
    with pytest.raises(RuntimeError, match="disk on fire"):
        run_pack(tmp_path, out=out)
    assert not out.exists() and schema.partial_path(out).exists()
    with pytest.raises(SchemaError, match="resume"):
        PairDataset(schema.partial_path(out), "train")

    calls.clear()
    fail_at[0] = -1
    report = run_pack(tmp_path, out=out, resume=True)
    assert report.resumed_from == 6 and len(calls) == 16 - 6
    assert not schema.partial_path(out).exists()
    with h5py.File(out) as a, h5py.File(clean.out) as b:
        for key in ("images", "parsing", "keypoints", "names", "pairs/train", "pairs/test"):
            np.testing.assert_array_equal(a[key][:], b[key][:])


def test_resume_refuses_a_partial_made_from_other_options(tmp_path, monkeypatch):
    make_set(tmp_path)
    monkeypatch.setattr(packer, "BATCH", 2)
    monkeypatch.setattr(packer, "_write_pairs", lambda *a: (_ for _ in ()).throw(KeyboardInterrupt()))
    with pytest.raises(KeyboardInterrupt):
        run_pack(tmp_path)
    monkeypatch.undo()
    with pytest.raises(PosewarpError, match="other inputs or options"):
        run_pack(tmp_path, resume=True, encode="jpeg")
    assert run_pack(tmp_path, resume=True).resumed_from == 9  # everything read, only the pairs were missing


def test_future_schema_version_is_refused_clearly(tmp_path):
    make_set(tmp_path, ids=2, poses=2)
    out = run_pack(tmp_path).out
    with h5py.File(out, "a") as f:
        f.attrs["schema_version"] = schema.SCHEMA_VERSION + 1
    for read in (lambda: PairDataset(out, "train"), lambda: describe(out), lambda: splits(out)):
        with pytest.raises(SchemaError, match=f"schema version {schema.SCHEMA_VERSION + 1}.*upgrade posewarp"):
            read()
    with pytest.raises(SchemaError, match="not a posewarp pair dataset"):
        with h5py.File(tmp_path / "other.h5", "w") as f:
            f["x"] = 1
        describe(tmp_path / "other.h5")


def test_split_names_and_cli(tmp_path, capsys):
    from posewarp.cli.main import main

    assert packer.split_name("fasion-resize-pairs-train.csv") == "train"
    assert packer.split_name("market-pairs-test.csv") == "test"
    assert packer.split_name("val.csv") == "val"
    make_set(tmp_path, ids=2, poses=2)
    out = tmp_path / "d.h5"
    argv = ["pack", "--images", str(tmp_path / "images"), "--keypoints", str(tmp_path / "keypoints"),
            "--parsing", str(tmp_path / "parsing"), "--pairs", str(tmp_path / "pairs-train.csv"),
            "--pairs", str(tmp_path / "pairs-test.csv"), "--split", "a", "--split", "b", "--out", str(out),
            "--size", "16x12", "--fit", "resize", "--json"]  # fmt: skip
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code in (0, None)
    doc = json.loads(capsys.readouterr().out)
    assert doc["splits"] == {"a": 2, "b": 2} and doc["image_size"] == [16, 12]
    with pytest.raises(SystemExit) as exit_:
        main(["info", str(out), "--json", "--preview", str(tmp_path / "p.png")])
    doc = json.loads(capsys.readouterr().out)
    assert doc["splits"] == {"a": 2, "b": 2} and (tmp_path / "p.png").is_file()
    with pytest.raises(SystemExit) as exit_:
        main(["info", str(out)])
    assert exit_.value.code in (0, None) and "right_wrist" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_:
        main(argv[:-4] + ["--size", "16by12"])
    assert exit_.value.code == 2
    with pytest.raises(SystemExit) as exit_:
        main(["info", str(tmp_path / "nothing.h5")])
    assert exit_.value.code == 1


def test_pack_reads_body25_keypoint_files_and_person_n(tmp_path):
    truth, _ = make_set(tmp_path)
    h, w = 32, 24
    decoy = np.zeros((18, 3), np.float32)
    decoy[0], decoy[10] = (0, 0, 0.5), (w - 1, h - 1, 0.5)  # spans the whole image: the largest box
    for name, (_, _, person) in truth.items():
        stem = name.rsplit(".", 1)[0]
        (tmp_path / "keypoints" / f"{stem}.json").unlink()
        body25 = np.zeros((2, 25, 3), np.float32)
        for slot, kp in zip(body25, (decoy, person)):
            slot[[0, 1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18]] = kp  # BODY_25 order, no MidHip
        (tmp_path / "keypoints" / f"{stem}_keypoints.json").write_text(
            json.dumps({"people": [{"pose_keypoints_2d": p.ravel().tolist()} for p in body25]}))
    chosen = run_pack(tmp_path, tmp_path / "one.h5", person=1, pose_format="body25")
    largest = run_pack(tmp_path, tmp_path / "largest.h5")
    assert chosen.ok and "used person 1" in chosen.keypoint_note
    assert "9 images had several people" in largest.keypoint_note and "largest" in largest.keypoint_note
    with h5py.File(chosen.out) as a, h5py.File(largest.out) as b:
        for i, name in enumerate(schema.text(n) for n in a["names"][:]):
            np.testing.assert_allclose(a["keypoints"][i], truth[name][2], atol=1e-3)
            np.testing.assert_allclose(b["keypoints"][i], decoy, atol=1e-3)
    with pytest.raises(PosewarpError, match="people have 25 keypoints; --pose-format coco17 needs 17"):
        run_pack(tmp_path, tmp_path / "bad.h5", pose_format="coco17", strict=True)
