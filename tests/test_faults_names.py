"""Outputs are unique and quotable: batch transfer keeps relative paths (or refuses collisions and escapes), CSVs
are written and read with real quoting, so names with commas, quotes, colons or line breaks survive the round
trip pack -> transfer -> eval."""

import shutil

import h5py
import numpy as np
import pytest
from cli_runner import cli
from faults import one_line_error

from posewarp.data import pack
from posewarp.errors import PosewarpError
from posewarp.formats import keypoints as K
from posewarp.metrics.evaluate import evaluate
from posewarp.synth import generate
from posewarp.transfer_batch import transfer_dataset


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    root = tmp_path_factory.mktemp("source")
    generate(root / "w", identities=1, poses_per_identity=3, size=(32, 16), seed=0, test_fraction=0.0,
             show_progress=False)  # fmt: skip
    return root / "w"


def layout(source, root, names: list[str]):
    """Loose files for ``pack`` whose image names are ``names`` (subfolders allowed), made from 3 synthetic
    images in turn, with every ordered pair of different names in one pairs CSV."""
    stems = sorted(p.stem for p in (source / "images").iterdir())
    for i, name in enumerate(names):
        stem, rel = stems[i % len(stems)], name.rsplit(".", 1)[0]
        for folder, suffix in (("images", "." + name.rsplit(".", 1)[1]), ("keypoints", ".json"), ("parsing", ".png")):
            target = root / folder / (rel + suffix)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(source / folder / ((stem + ".png") if folder == "images" else stem + suffix), target)
    K.write_pairs_csv(root / "pairs-test.csv", [(a, b) for a in names for b in names if a != b])
    return pack(root / "images", root / "keypoints", root / "parsing", [root / "pairs-test.csv"], root / "d.h5",
                show_progress=False).out  # fmt: skip


def test_csv_round_trips_names_with_commas_quotes_colons_and_line_breaks(tmp_path):
    names = ["plain.png", "a,b.png", 'say "hi".png', "c:d.png", "two\nlines.png", " spaced .png"]
    pairs = [(a, b) for a in names for b in names if a != b]
    K.write_pairs_csv(tmp_path / "pairs.csv", pairs)
    assert (tmp_path / "pairs.csv").read_text().splitlines()[:2] == ["from,to", 'plain.png,"a,b.png"']
    assert K.read_pairs_csv(tmp_path / "pairs.csv") == [(a.strip(), b.strip()) for a, b in pairs]
    people = {name: np.full((18, 3), i + 1, np.float32) for i, name in enumerate(names)}
    K.write_patn_csv(tmp_path / "annotations.csv", people)
    back = K.read_patn_csv(tmp_path / "annotations.csv")
    assert list(back) == names and all(np.array_equal(back[n][:, :2], people[n][:, :2]) for n in names)
    assert (tmp_path / "annotations.csv").read_text().splitlines()[1].startswith("plain.png: [1, 1,")  # PATN's own form
    (tmp_path / "old.csv").write_text("name:keypoints_y:keypoints_x\n" + K.to_patn_row("x", people["plain.png"])
                                      .replace("x:", "a:b:c.png:", 1) + "\n")  # fmt: skip
    assert list(K.read_patn_csv(tmp_path / "old.csv")) == ["a:b:c.png"]  # an unquoted name keeps its colons


def test_batch_transfer_keeps_subfolders_and_eval_scores_the_right_pairs(source, tmp_path, capsys):
    data = layout(source, tmp_path, ["MEN/a.png", "WOMEN/a.png", "WOMEN/b.png"])
    out = tmp_path / "results"
    code, _, err = cli(["transfer", "--data", data, "--out", out, "--device", "cpu", "--json", "--fit-pack"], capsys)
    assert code == 0, err
    preds = sorted(p.relative_to(out / "pred").as_posix() for p in (out / "pred").rglob("*.png"))
    assert preds == ["MEN/a___WOMEN/a.png", "MEN/a___WOMEN/b.png", "WOMEN/a___MEN/a.png", "WOMEN/a___WOMEN/b.png",
                     "WOMEN/b___MEN/a.png", "WOMEN/b___WOMEN/a.png"]  # fmt: skip
    assert sorted(p.relative_to(out / "gt").as_posix() for p in (out / "gt").rglob("*.png")) == [
        "MEN/a.png", "WOMEN/a.png", "WOMEN/b.png"]  # fmt: skip
    doc = evaluate(out / "pred", out / "gt", metrics="ssim,mask-ssim", pairs=out / "pairs.csv",
                   keypoints=out / "annotations.csv", device="cpu", show_progress=False)  # fmt: skip
    assert doc["pairs"] == 6


def test_odd_names_survive_pack_transfer_and_eval(source, tmp_path):
    data = layout(source, tmp_path, ["a,b.png", "c:d.png", 'e"f.png'])
    out = transfer_dataset(data, "test", tmp_path / "results", device="cpu", fit_pack=True,
                           show_progress=False)["out"]
    pairs = K.read_pairs_csv(f"{out}/pairs.csv")
    assert sorted(pairs) == sorted((a, b) for a in ["a,b.png", "c:d.png", 'e"f.png']
                                   for b in ["a,b.png", "c:d.png", 'e"f.png'] if a != b)  # fmt: skip
    assert sorted(K.read_patn_csv(f"{out}/annotations.csv")) == ["a,b.png", "c:d.png", 'e"f.png']
    doc = evaluate(f"{out}/pred", f"{out}/gt", metrics="ssim,mask-ssim", pairs=f"{out}/pairs.csv",
                   keypoints=f"{out}/annotations.csv", device="cpu", show_progress=False)  # fmt: skip
    assert doc["pairs"] == 6


def test_names_that_collide_or_escape_are_refused_before_rendering(source, tmp_path, capsys):
    data = layout(source, tmp_path / "c", ["x.png", "x.jpg", "y.png"])
    code, _, err = cli(["transfer", "--data", data, "--out", tmp_path / "r1", "--device", "cpu", "--fit-pack"], capsys)
    assert code == 1 and "would both write" in one_line_error(err, str(data))
    assert not (tmp_path / "r1" / "pred").exists()
    data = layout(source, tmp_path / "e", ["p.png", "q.png"])
    with h5py.File(data, "a") as f:
        f["names"][0] = "../../escaped.png"
    with pytest.raises(PosewarpError, match="escapes the input folders"):
        transfer_dataset(data, "test", tmp_path / "r2", device="cpu", fit_pack=True, show_progress=False)
    assert not (tmp_path / "escaped.png").exists() and not (tmp_path / "r2" / "pred").exists()
