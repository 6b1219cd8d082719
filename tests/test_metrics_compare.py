"""Methods side by side: two synthetic methods with a known ordering (little noise beats much noise),
scored on the pairs they share, with paired bootstrap intervals and a Markdown report."""

import json

import numpy as np
import pytest
import torch

from posewarp.cli.main import main
from posewarp.errors import PosewarpError
from posewarp.formats.images import read_image, write_image
from posewarp.metrics.compare import bootstrap_intervals, compare, method_names
from posewarp.metrics.ssim import SKIMAGE_014, ssim

NAMES = [f"p{i}" for i in range(8)]
SIZE = (40, 32)


@pytest.fixture()
def methods(tmp_path):
    rng = np.random.default_rng(5)
    for n in NAMES:
        real = rng.integers(0, 256, (*SIZE, 3), dtype=np.uint8)
        write_image(tmp_path / "gt" / f"{n}.png", real)
        for method, noise in (("good", 20), ("bad", 90)):
            fake = np.clip(real.astype(int) + rng.integers(-noise, noise + 1, real.shape), 0, 255).astype(np.uint8)
            write_image(tmp_path / method / f"{n}.png", fake)
    return tmp_path


def _lpips(tmp_path):
    from posewarp.metrics.lpips import CHANNELS, alexnet_features

    torch.manual_seed(0)
    torch.save({f"features.{k}": v for k, v in alexnet_features().state_dict().items()}, tmp_path / "alexnet.pth")
    torch.save({f"lin{i}.model.1.weight": torch.rand(1, c, 1, 1) for i, c in enumerate(CHANNELS)}, tmp_path / "a.pth")
    return {"alexnet": tmp_path / "alexnet.pth", "lpips-alex": tmp_path / "a.pth"}


def test_two_methods_known_ordering_on_common_pairs(methods):
    (methods / "bad" / "p3.png").unlink()  # the bad method lacks one pair: both are scored on the other 7
    doc = compare([methods / "good", methods / "bad"], methods / "gt", metrics="ssim,lpips", allow_missing=True,
                  weights=_lpips(methods), bootstrap=200, seed=1, show_progress=False)  # fmt: skip
    assert doc["common_pairs"] == 7 and doc["pairs_per_method"] == {"good": 8, "bad": 7}
    good, bad = doc["rows"]
    assert (good["method"], bad["method"]) == ("good", "bad")
    shared = [n for n in NAMES if n != "p3"]
    want = np.mean([ssim(read_image(methods / "good" / f"{n}.png"), read_image(methods / "gt" / f"{n}.png"),
                         SKIMAGE_014) for n in shared])  # fmt: skip
    assert good["values"]["ssim"] == pytest.approx(want, rel=1e-12)
    assert good["values"]["ssim"] > bad["values"]["ssim"] and good["values"]["lpips"] < bad["values"]["lpips"]
    for row in doc["rows"]:
        for metric in ("ssim", "lpips"):
            lo, hi = row["intervals"][metric]
            assert lo <= row["values"][metric] <= hi
    lo, hi = bad["difference_to_first"]["ssim"]
    assert hi < 0  # the bad method's SSIM is lower on every resample: a difference that means something
    assert doc["methods"]["bad"]["pairs"] == 7 and doc["bootstrap"]["resamples"] == 200


def test_bootstrap_is_seeded_and_paired():
    per_pair = {"a": {"keys": ["x", "y", "z"], "ssim": [0.5, 0.6, 0.7]},
                "b": {"keys": ["z", "y", "x"], "ssim": [0.6, 0.5, 0.4]}}  # fmt: skip
    one = bootstrap_intervals(per_pair, ["x", "y", "z"], 100, seed=3)
    assert one == bootstrap_intervals(per_pair, ["x", "y", "z"], 100, seed=3)
    # b is a minus 0.1 on every pair (keys in another order): the paired difference is exactly -0.1
    assert one["b"]["ssim"]["difference_to_first"] == pytest.approx([-0.1, -0.1])
    assert one["a"]["ssim"]["interval"][0] < one["a"]["ssim"]["interval"][1]


def test_no_shared_pair_and_method_names(tmp_path, methods):
    for n in ("q0", "q1"):
        write_image(tmp_path / "other" / f"{n}.png", np.zeros((*SIZE, 3), np.uint8))
        write_image(methods / "gt" / f"{n}.png", np.zeros((*SIZE, 3), np.uint8))
    with pytest.raises(PosewarpError, match="share no pair"):
        compare([methods / "good", tmp_path / "other"], methods / "gt", metrics="ssim", allow_missing=True,
                show_progress=False)  # fmt: skip
    assert method_names(["/x/a/run", "/x/b/run"]) == ["a/run", "b/run"]


def test_cli_side_by_side_json_table_and_report(methods, capsys):
    args = ["eval", "--pred", str(methods / "good"), "--pred", str(methods / "bad"), "--gt", str(methods / "gt"),
            "--metrics", "ssim", "--device", "cpu"]  # fmt: skip
    with pytest.raises(SystemExit) as exc:
        main([*args, "--json"])
    assert exc.value.code == 0
    doc = json.loads(capsys.readouterr().out)
    assert [r["method"] for r in doc["rows"]] == ["good", "bad"] and doc["common_pairs"] == 8
    with pytest.raises(SystemExit) as exc:
        main([*args, "--bootstrap", "50", "--report", str(methods / "report.md")])
    err = " ".join(capsys.readouterr().err.split())
    assert exc.value.code == 0 and "8 pairs they share" in err and "good" in err and "[" in err
    text = (methods / "report.md").read_text()
    assert "| method | ssim |" in text and "| good |" in text and "](report-pairs.png)" in text
    sheet = read_image(methods / "report-pairs.png")
    assert sheet.shape == (8 * SIZE[0] + 7 * 4, 3 * SIZE[1] + 2 * 4, 3)  # 4 worst + 4 best rows; gt, good, bad
    assert np.array_equal(sheet[: SIZE[0], : SIZE[1]], read_image(methods / "gt" / f"{_worst(doc)}.png"))


def _worst(doc) -> str:
    """The pair with the lowest mean SSIM over the two methods, computed here from the files."""
    return min(NAMES, key=lambda n: (np.mean([_pair_ssim(doc, m, n) for m in ("good", "bad")]), n))


def _pair_ssim(doc, method, name):
    root = doc["methods"][method]["pred_dir"]
    gt = doc["methods"][method]["gt_dir"]
    return ssim(read_image(f"{root}/{name}.png"), read_image(f"{gt}/{name}.png"), SKIMAGE_014)


def test_whole_batches_are_said_to_drop_pairs_per_row(methods):
    from dataclasses import replace

    from posewarp.metrics.protocols import GFLA

    doc = compare([methods / "good", methods / "bad"], methods / "gt", metrics="lpips", weights=_lpips(methods),
                  protocol=replace(GFLA, whole_batches=3), show_progress=False)  # fmt: skip
    assert doc["methods"]["good"]["metrics"]["lpips"]["dropped"] == 2  # 8 pairs: two whole batches of 3
    assert any("last whole batch" in note for note in doc["notes"])
    kept = compare([methods / "good", methods / "bad"], methods / "gt", metrics="lpips", weights=_lpips(methods),
                   protocol=replace(GFLA, whole_batches=3), keep_remainder=True, show_progress=False)  # fmt: skip
    assert kept["notes"] == [] and kept["methods"]["bad"]["metrics"]["lpips"]["count"] == 8
