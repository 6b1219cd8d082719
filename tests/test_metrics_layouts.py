"""Published layouts: strips built here as PATN, Def-GAN and GFLA saved them, cropped and paired by the
names in their file names, with ``--pred-layout auto`` telling them apart by width."""

import json

import numpy as np
import pytest

from posewarp.cli.main import main
from posewarp.errors import PosewarpError
from posewarp.formats.images import write_image
from posewarp.formats.keypoints import write_pairs_csv
from posewarp.metrics.evaluate import evaluate
from posewarp.metrics.layouts import LAYOUTS
from posewarp.metrics.names import PRED_LAYOUTS
from posewarp.metrics.ssim import SKIMAGE_014, ssim

H, W = 40, 24
PAIRS = (("s1.jpg", "t1.jpg"), ("s2.jpg", "t2.jpg"), ("t1.jpg", "s1.jpg"))


@pytest.fixture()
def world(tmp_path):
    rng = np.random.default_rng(11)
    images = {n: rng.integers(0, 256, (H, W, 3), dtype=np.uint8) for n in ("s1.jpg", "s2.jpg", "t1.jpg", "t2.jpg")}
    for name, img in images.items():
        write_image(tmp_path / "gt" / name.replace(".jpg", ".png"), img)  # lossless stand-ins keep the names
    fakes = {pair: np.clip(images[pair[1]].astype(int) + rng.integers(-40, 41, (H, W, 3)), 0, 255).astype(np.uint8)
             for pair in PAIRS}  # fmt: skip
    want = np.mean([ssim(fakes[p], images[p[1]], SKIMAGE_014) for p in PAIRS])
    return tmp_path, images, fakes, want


def _noise(seed):
    return np.random.default_rng(seed).integers(0, 256, (H, W, 3), dtype=np.uint8)


def _patn(root, images, fakes):
    for i, (a, b) in enumerate(PAIRS):  # source | source pose | target | target pose | generated
        strip = np.concatenate([images[a], _noise(i), images[b], _noise(i + 9), fakes[(a, b)]], axis=1)
        write_image(root / "patn" / f"{a}___{b}_vis.png", strip)
    return root / "patn"


def _defgan(root, images, fakes):
    for a, b in PAIRS:  # source | target | generated, named {from}_{to}.png
        write_image(root / "defgan" / f"{a}_{b}.png", np.concatenate([images[a], images[b], fakes[(a, b)]], axis=1))
    return root / "defgan"


def _gfla(root, fakes):
    for a, b in PAIRS:
        write_image(root / "gfla" / f"{a[:-4]}_2_{b[:-4]}_vis.png", fakes[(a, b)])
    return root / "gfla"


@pytest.mark.parametrize("kind", ["patn-strip", "defgan-strip", "gfla"])
def test_each_layout_crops_and_pairs_by_file_name(world, kind):
    root, images, fakes, want = world
    pred = {"patn-strip": _patn, "defgan-strip": _defgan}.get(kind, lambda r, i, f: _gfla(r, f))(root, images, fakes)
    for layout in (kind, "auto"):
        doc = evaluate(pred, root / "gt", metrics="ssim", pred_layout=layout, show_progress=False)
        assert doc["pairs"] == 3 and doc["metrics"]["ssim"]["value"] == pytest.approx(want, rel=1e-12)
        assert doc["pred_layout"]["name"] == kind and doc["pred_layout"]["detected"] == (layout == "auto")
        assert any("pass --pairs to check" in n for n in doc["notes"])


def test_strips_with_a_pairs_file_find_missing_ones(world):
    root, images, fakes, want = world
    pred = _patn(root, images, fakes)
    write_pairs_csv(root / "pairs.csv", [*PAIRS, ("s2.jpg", "t1.jpg")])
    with pytest.raises(PosewarpError, match="1 of 4 pairs have no generated image.*s2.jpg___t1.jpg"):
        evaluate(pred, root / "gt", metrics="ssim", pairs=root / "pairs.csv", show_progress=False)
    doc = evaluate(pred, root / "gt", metrics="ssim", pairs=root / "pairs.csv", allow_missing=True,
                   show_progress=False)  # fmt: skip
    assert doc["metrics"]["ssim"]["value"] == pytest.approx(want, rel=1e-12)
    assert doc["pred_layout"] == {"name": "patn-strip", "detected": True, "panels": 5,
                                  "source": LAYOUTS["patn-strip"].source}  # fmt: skip
    defgan = _defgan(root, images, fakes)
    write_pairs_csv(root / "three.csv", PAIRS)
    doc = evaluate(defgan, root / "gt", metrics="ssim", pairs=root / "three.csv", show_progress=False)
    assert doc["pred_layout"]["name"] == "defgan-strip" and doc["metrics"]["ssim"]["value"] == pytest.approx(want)


def test_a_width_that_fits_no_layout_and_a_wrong_name_fail_clearly(world, capsys):
    root, images, fakes, _ = world
    for a, b in PAIRS:
        write_image(root / "odd" / f"{a}___{b}_vis.png", np.concatenate([fakes[(a, b)]] * 2, axis=1))
    with pytest.raises(SystemExit) as exc:
        main(["eval", "--pred", str(root / "odd"), "--gt", str(root / "gt"), "--metrics", "ssim", "--json"])
    err = capsys.readouterr().err
    assert exc.value.code == 1 and "48 px wide and its ground truth 24 px" in err and "--pred-layout" in err
    write_image(root / "named" / "x.png", fakes[PAIRS[0]])
    with pytest.raises(PosewarpError, match="does not follow the patn-strip pattern"):
        evaluate(root / "named", root / "gt", metrics="ssim", pred_layout="patn-strip", show_progress=False)


def test_cli_names_the_layout_and_library_choices_agree(world, capsys):
    root, images, fakes, want = world
    pred = _patn(root, images, fakes)
    with pytest.raises(SystemExit) as exc:
        main(["eval", "--pred", str(pred), "--gt", str(root / "gt"), "--metrics", "ssim", "--json", "--no-floors"])
    assert exc.value.code == 0
    assert json.loads(capsys.readouterr().out)["pred_layout"]["name"] == "patn-strip"
    with pytest.raises(SystemExit) as exc:
        main(["eval", "--pred", str(pred), "--gt", str(root / "gt"), "--metrics", "ssim", "--no-floors"])
    assert "layout patn-strip (detected)" in " ".join(capsys.readouterr().err.split())  # the title may wrap
    with pytest.raises(SystemExit) as exc:
        main(["eval", "--pred", str(pred), "--gt", str(root / "gt"), "--pred-layout", "vunet"])
    assert exc.value.code == 2
    assert set(PRED_LAYOUTS) == {"auto", *LAYOUTS}
