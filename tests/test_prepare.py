"""posewarp prepare on miniature trees in the official layouts, built here: names, splits, crop offsets, list checks."""

import json

import numpy as np
import pytest
from cli_runner import cli
from PIL import Image

from posewarp.data import pack
from posewarp.data.deepfashion import fashion_name, prepare_deepfashion
from posewarp.errors import PosewarpError
from posewarp.formats import images as I
from posewarp.formats import keypoints as K
from posewarp.formats import parsing as P

# In-shop paths (img/<GENDER>/<Category>/id_XXXXXXXX/NN_V_view.jpg) and the flat names PATN gives them, by hand.
FASHION = {
    "WOMEN/Blouses_Shirts/id_00006370/03_1_front.jpg": "fashionWOMENBlouses_Shirtsid0000637003_1front.jpg",
    "WOMEN/Blouses_Shirts/id_00006370/03_2_side.jpg": "fashionWOMENBlouses_Shirtsid0000637003_2side.jpg",
    "WOMEN/Tees_Tanks/id_00006863/30_3_back.jpg": "fashionWOMENTees_Tanksid0000686330_3back.jpg",
    "WOMEN/Tees_Tanks/id_00006863/30_7_additional.jpg": "fashionWOMENTees_Tanksid0000686330_7additional.jpg",
    "MEN/Shirts_Polos/id_00001802/02_4_full.jpg": "fashionMENShirts_Polosid0000180202_4full.jpg",
    "MEN/Shirts_Polos/id_00001802/02_1_front.jpg": "fashionMENShirts_Polosid0000180202_1front.jpg",
}
TRAIN, TEST = list(FASHION.values())[:4], list(FASHION.values())[4:]
UNLISTED = "MEN/Shirts_Polos/id_00001802/02_6_flat.jpg"  # in the tree, in no list


def kp_for(i):
    """A pose in the 256x176 frame of the published CSVs; the last one has a point beyond x = 175."""
    kp = np.zeros((18, 3), np.float32)
    kp[0] = (100, 37, 1)
    kp[1] = (88 + i, 60, 1)
    kp[13] = (175, 255, 1)
    if i == 5:
        kp[4] = (180, 90, 1)  # outside the 176-wide crop
    return kp


def picture(h, w, seed):
    """Grey ramps (x across, y down) plus a little noise: smooth enough for JPEG, position-revealing."""
    rng = np.random.default_rng(seed)
    x = np.linspace(0, 255, w)[None, :, None]
    y = np.linspace(0, 255, h)[:, None, None]
    img = 0.6 * x + 0.4 * y + rng.normal(0, 2, (h, w, 1))
    return np.clip(np.repeat(img, 3, axis=2), 0, 255).astype(np.uint8)


def fashion_tree(root, folder="img", size=(256, 256), spelling="fasion-resize-", lst=True):
    for i, rel in enumerate([*FASHION, UNLISTED]):
        I.write_image(root / folder / rel, picture(*size, i), quality=100)
    names = list(FASHION.values())
    for split, members in (("train", TRAIN), ("test", TEST)):
        K.write_patn_csv(root / f"{spelling}annotation-{split}.csv", {n: kp_for(names.index(n)) for n in members})
        K.write_pairs_csv(root / f"{spelling}pairs-{split}.csv", [(a, b) for a in members for b in members if a != b][:3])
        if lst:
            (root / f"{split}.lst").write_text("".join(f"{n}\n" for n in members))


def test_fashion_names_follow_patn():
    from pathlib import Path

    for rel, name in FASHION.items():
        assert fashion_name(Path(rel)) == name
    assert fashion_name(Path("WOMEN/readme.txt")) is None


def test_deepfashion_patn_crops_40_px_and_keeps_names_splits_keypoints(tmp_path):
    fashion_tree(tmp_path / "In-shop")
    report = prepare_deepfashion(tmp_path / "In-shop", tmp_path / "out", protocol="patn", quality=95,
                                 show_progress=False)  # fmt: skip
    out = tmp_path / "out"
    assert sorted(p.name for p in (out / "images").iterdir()) == sorted(FASHION.values())
    assert report.images == {"train": 4, "test": 2} and report.pairs == {"train": 3, "test": 2}
    assert report.written == 6 and report.unlisted == 1 and report.points_outside == 1 and not report.failed
    assert (out / "train.lst").read_text().split() == TRAIN and (out / "test.lst").read_text().split() == TEST
    assert K.read_pairs_csv(out / "pairs-test.csv") == [(TEST[0], TEST[1]), (TEST[1], TEST[0])]
    for i, (rel, name) in enumerate(FASHION.items()):
        got = I.read_image(out / "images" / name)
        source = I.read_image(tmp_path / "In-shop" / "img" / rel)
        assert got.shape == (256, 176, 3)
        # columns 40..215 of the 256x256 image, as PATN's img.crop((40, 0, 216, 256)), then written at quality 95
        np.testing.assert_array_equal(got, I.decode_image(I.encode_image(source[:, 40:216], ".jpg", 95)))
    ann = K.read_patn_csv(out / "annotations.csv")
    assert sorted(ann) == sorted(FASHION.values())
    np.testing.assert_array_equal(ann[TRAIN[0]], kp_for(0))  # the CSV frame is the crop's: unchanged
    assert ann[TEST[1]][4].tolist() == [0, 0, 0]  # x = 180 is outside the 176-wide image: missing
    meta = json.loads((out / "prepare.json").read_text())
    assert meta["state"] == "complete" and meta["protocol"] == "patn" and meta["size"] == [256, 176]


def test_deepfashion_gfla_resizes_highres_and_scales_keypoints(tmp_path):
    fashion_tree(tmp_path / "In-shop", folder="img_highres", size=(110, 75), spelling="fasion-", lst=False)
    report = prepare_deepfashion(tmp_path / "In-shop", tmp_path / "out", protocol="gfla", quality=95,
                                 show_progress=False)  # fmt: skip
    assert report.images == {"train": 4, "test": 2} and report.size == (256, 256)
    rel, name = next(iter(FASHION.items()))
    source = I.read_image(tmp_path / "In-shop" / "img_highres" / rel)
    expected = np.asarray(Image.fromarray(source).resize((256, 256), Image.BILINEAR))  # GFLA's F.resize on PIL
    np.testing.assert_array_equal(I.read_image(tmp_path / "out" / "images" / name),
                                  I.decode_image(I.encode_image(expected, ".jpg", 95)))  # fmt: skip
    kp = K.read_patn_csv(tmp_path / "out" / "annotations.csv")[name]
    # by hand: x * 256 / 176 and y * 256 / 256, truncated: 100 -> 145, 88 -> 128, 175 -> 254; y unchanged
    assert kp[0].tolist() == [145, 37, 1] and kp[1].tolist() == [128, 60, 1] and kp[13].tolist() == [254, 255, 1]


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda r: (r / "fasion-resize-pairs-test.csv").unlink(), "missing fasion-resize-pairs-test.csv"),
        (lambda r: (r / "train.lst").write_text(TRAIN[0] + "\nnot a name\n"), r"line 2 \('not a name'\) is not an image"),
        (lambda r: (r / "test.lst").write_text(TEST[0] + "\n"), r"1 images in the pairs are not in this split \(test.lst\)"),
        (lambda r: (r / "img" / next(iter(FASHION))).unlink(),
         "1 images named in the list files are not in the tree: 'fashionWOMENBlouses_Shirtsid0000637003_1front.jpg'"),
        (lambda r: (r / "fasion-resize-annotation-train.csv").write_text("a,b\n"), "expected the PATN header"),
        (lambda r: (r / "fasion-resize-pairs-train.csv").write_text("from,to\n"), "lists no pairs"),
        (lambda r: (r / "test.lst").write_text(TRAIN[0] + "\n" + TEST[0] + "\n" + TEST[1] + "\n"),
         "1 images are listed in two splits"),
        (lambda r: (r / "img").rename(r / "images"), "no img/ folder"),
    ],
)
def test_bad_list_files_and_missing_images_fail_in_one_line_before_writing(tmp_path, damage, message):
    root = tmp_path / "In-shop"
    fashion_tree(root)
    damage(root)
    with pytest.raises(PosewarpError, match=message) as info:
        prepare_deepfashion(root, tmp_path / "out", show_progress=False)
    assert "\n" not in str(info.value) and not (tmp_path / "out").exists()


def test_an_unreadable_image_is_reported_and_its_pairs_left_out(tmp_path):
    root = tmp_path / "In-shop"
    fashion_tree(root)
    I.write_image(root / "img" / list(FASHION)[4], picture(200, 200, 0))  # not In-shop's 256x256
    report = prepare_deepfashion(root, tmp_path / "out", show_progress=False)
    assert [n for n, _ in report.failed] == [TEST[0]] and "PATN's crop needs" in report.failed[0][1]
    assert report.images == {"train": 4, "test": 1} and report.pairs == {"train": 3, "test": 0}
    assert report.dropped_pairs == 2 and K.read_pairs_csv(tmp_path / "out" / "pairs-test.csv") == []


MARKET_TRAIN = ["0002_c1s1_000451_03.jpg", "0002_c1s1_000551_01.jpg", "0007_c2s3_070952_01.jpg"]
MARKET_TEST = ["0001_c1s1_001051_03.jpg", "0001_c2s1_000301_01.jpg"]


def market_tree(root, folders=("bounding_box_train", "bounding_box_test")):
    for folder, names in zip(folders, (MARKET_TRAIN, MARKET_TEST)):
        for i, name in enumerate(names):
            I.write_image(root / folder / name, picture(128, 64, i), quality=90)
    I.write_image(root / folders[1] / "-1_c1s1_000401_03.jpg", picture(128, 64, 9))  # a distractor, in no list
    (root / folders[0] / "Thumbs.db").write_bytes(b"\0")
    for split, names in (("train", MARKET_TRAIN), ("test", MARKET_TEST)):
        kp = np.zeros((18, 3), np.float32)
        kp[0], kp[1] = (30, 20, 1), (31, 40, 1)
        K.write_patn_csv(root / f"market-annotation-{split}.csv", {n: kp for n in names})
        K.write_pairs_csv(root / f"market-pairs-{split}.csv", [(a, b) for a in names for b in names if a != b])


def test_market_copies_the_crops_and_the_result_packs(tmp_path, capsys):
    root = tmp_path / "Market-1501-v15.09.15"
    market_tree(root)
    code, out, err = cli(["prepare", "market", root, "--out", tmp_path / "market", "--json"], capsys)
    assert code == 0, err
    doc = json.loads(out)
    assert doc["images"] == {"train": 3, "test": 2} and doc["pairs"] == {"train": 6, "test": 2} and doc["unlisted"] == 1
    prepared = tmp_path / "market"
    for folder, names in (("bounding_box_train", MARKET_TRAIN), ("bounding_box_test", MARKET_TEST)):
        for name in names:  # byte for byte: no re-encoding
            assert (prepared / "images" / name).read_bytes() == (root / folder / name).read_bytes()
    for name in MARKET_TRAIN + MARKET_TEST:
        P.write_label_png(prepared / "parsing" / name.replace(".jpg", ".png"), np.zeros((128, 64), np.uint8))
    report = pack(prepared / "images", prepared / "annotations.csv", prepared / "parsing",
                  [prepared / "pairs-train.csv", prepared / "pairs-test.csv"], tmp_path / "market.h5",
                  show_progress=False)  # fmt: skip
    assert report.ok and report.splits == {"train": 6, "test": 2} and report.image_size == (128, 64)


def test_market_renamed_folders_cli_errors_and_ctrl_c(tmp_path, capsys, monkeypatch):
    root = tmp_path / "market"
    market_tree(root, folders=("train", "test"))  # renamed as PATN's and GFLA's instructions say
    code, _, err = cli(["prepare", "market", root, "--out", tmp_path / "o", "--protocol", "pg2"], capsys)
    assert code == 2 and "--protocol" in err
    (root / "market-annotation-test.csv").unlink()
    code, _, err = cli(["prepare", "market", root, "--out", tmp_path / "o"], capsys)
    assert code == 1 and err.count("\n") == 1 and "missing market-annotation-test.csv" in err
    market_tree(root, folders=("train", "test"))

    from posewarp.data import market

    calls = []
    copy = market._copy

    def interrupted(source, dest):
        calls.append(source)
        if len(calls) > 2:
            raise KeyboardInterrupt
        copy(source, dest)

    monkeypatch.setattr(market, "_copy", interrupted)
    code, _, err = cli(["prepare", "market", root, "--out", tmp_path / "o", "--workers", "1"], capsys)
    assert code == 130 and "interrupted" in err
    assert len(list((tmp_path / "o" / "images").iterdir())) == 2  # the finished ones, no temp files
    assert json.loads((tmp_path / "o" / "prepare.json").read_text())["state"] == "partial"
    monkeypatch.setattr(market, "_copy", copy)
    code, out, err = cli(["prepare", "market", root, "--out", tmp_path / "o", "--json"], capsys)
    assert code == 0 and json.loads(out)["kept"] == 2 and json.loads(out)["written"] == 3
    code, _, err = cli(["prepare", "deepfashion", tmp_path / "x", "--out", tmp_path / "o"], capsys)
    assert code == 1 and "not a folder" in err
