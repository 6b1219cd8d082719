"""``posewarp synth`` / ``synth.generate``: the dataset layout, determinism, pairs, splits and the CLI."""

import json

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from posewarp.cli.main import app
from posewarp.errors import PosewarpError
from posewarp.formats import images, parsing
from posewarp.formats import keypoints as K
from posewarp.synth import generate, render, split_identities, world_identity

SMALL = dict(identities=5, poses_per_identity=3, size=(128, 64), test_fraction=0.2, show_progress=False)


def files(folder):
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    out = tmp_path_factory.mktemp("synth") / "world"
    meta = generate(out, seed=11, **SMALL)
    return out, meta


def test_layout_and_formats(world):
    out, meta = world
    names = sorted(p.name for p in (out / "images").iterdir())
    assert len(names) == 15 and names[0] == "id0000_pose00.png" and names[-1] == "id0004_pose02.png"
    assert sorted(p.name for p in (out / "parsing").iterdir()) == names
    assert sorted(p.stem for p in (out / "keypoints").iterdir()) == [n[:-4] for n in names]
    assert images.read_image(out / "images" / names[0]).shape == (128, 64, 3)
    with Image.open(out / "parsing" / names[0]) as img:
        assert img.mode == "P"
    assert parsing.read_label_png(out / "parsing" / names[0]).max() < 20
    people = K.read_openpose_json(out / "keypoints" / "id0000_pose00.json")
    assert people.shape == (1, 18, 3)
    ann = K.read_patn_csv(out / "annotations.csv")
    assert sorted(ann) == names
    np.testing.assert_array_equal(ann["id0000_pose00.png"][:, 2] > 0, people[0, :, 2] > 0)
    assert meta == json.loads((out / "meta.json").read_text())
    assert meta["size"] == [128, 64] and meta["images"] == 15 and meta["seed"] == 11 and meta["version"] == 2


def test_files_are_what_render_draws(world):
    out, _ = world
    rgb, labels, kp = render(3, 1, size=(128, 64), seed=11)
    np.testing.assert_array_equal(images.read_image(out / "images" / "id0003_pose01.png"), rgb)
    np.testing.assert_array_equal(parsing.read_label_png(out / "parsing" / "id0003_pose01.png"), labels)
    np.testing.assert_allclose(K.read_openpose_json(out / "keypoints" / "id0003_pose01.json")[0], kp, atol=1e-3)


def test_same_seed_gives_byte_identical_files(world, tmp_path):
    out, _ = world
    again = tmp_path / "again"
    world_identity.cache_clear()  # draw every person afresh, as a new process would
    generate(again, seed=11, **SMALL)
    assert files(again) == files(out)
    other = tmp_path / "other"
    generate(other, seed=12, **SMALL)
    assert files(other)["images/id0000_pose00.png"] != files(out)["images/id0000_pose00.png"]


def test_pairs_stay_within_one_identity_and_splits_are_disjoint(world):
    out, meta = world
    train = K.read_pairs_csv(out / "pairs-train.csv")
    test = K.read_pairs_csv(out / "pairs-test.csv")
    ident = lambda name: name.split("_")[0]  # noqa: E731
    for a, b in train + test:
        assert ident(a) == ident(b) and a != b
        assert (out / "images" / a).is_file() and (out / "images" / b).is_file()
    train_ids, test_ids = {ident(a) for a, _ in train}, {ident(a) for a, _ in test}
    assert train_ids and test_ids and not train_ids & test_ids
    assert sorted(test_ids) == meta["test_identity_names"]
    assert len(train) == meta["train_pairs"] == len(train_ids) * 3 * 2  # all ordered pairs of 3 poses
    assert (out / "pairs-train.csv").read_text().startswith("from,to\n")


def test_split_by_identity_rules():
    assert split_identities(10, 0.0, 0) == []
    assert len(split_identities(2, 0.1, 0)) == 1  # at least one held-out person
    assert len(split_identities(10, 0.95, 0)) == 9  # and at least one left to train on
    assert split_identities(1, 0.5, 0) == []
    assert len(split_identities(4, 1.0, 0)) == 4
    assert split_identities(50, 0.2, 3) == split_identities(50, 0.2, 3) != split_identities(50, 0.2, 4)


def test_pair_cap_samples_within_identity(tmp_path):
    meta = generate(tmp_path / "w", identities=3, poses_per_identity=4, size=(32, 16), seed=0, test_fraction=0.0,
                    pairs_per_identity=5, show_progress=False)  # fmt: skip
    pairs = K.read_pairs_csv(tmp_path / "w" / "pairs-train.csv")
    assert meta["train_pairs"] == len(pairs) == 15 and len(set(pairs)) == 15
    assert meta["test_pairs"] == 0 and K.read_pairs_csv(tmp_path / "w" / "pairs-test.csv") == []


def test_library_rejects_bad_arguments(tmp_path):
    bad = (dict(identities=0), dict(poses_per_identity=-1), dict(size=(0, 0)), dict(test_fraction=2.0), dict(seed=-1))
    for kwargs in bad:
        args = dict(identities=2, poses_per_identity=2, size=(32, 16)) | kwargs
        with pytest.raises(PosewarpError):
            generate(tmp_path / "bad", show_progress=False, **args)


runner = CliRunner()


@pytest.mark.parametrize(
    "args, words",
    [
        (["--size", "0x0"], "positive"),
        (["--size", "128by64"], "HxW"),
        (["--identities", "-3"], "at least 1"),
        (["--poses-per-identity", "-1"], "at least 1"),
        (["--test-fraction", "1.5"], "[0, 1]"),
        (["--seed", "-1"], "0 or more"),
    ],
)
def test_cli_bad_arguments_exit_2_with_a_clear_message(tmp_path, args, words):
    base = {"--identities": "2", "--poses-per-identity": "2", "--size": "32x16"}
    for k, v in zip(args[::2], args[1::2]):
        base[k] = v
    argv = ["synth", str(tmp_path / "o")] + [x for kv in base.items() for x in kv]
    result = runner.invoke(app, argv)
    assert result.exit_code == 2
    assert words in result.output
    assert not (tmp_path / "o").exists()


def test_cli_writes_refuses_non_empty_and_overwrites(tmp_path):
    from posewarp.cli.main import main

    out = tmp_path / "o"
    argv = ["synth", str(out), "--identities", "3", "--poses-per-identity", "3", "--size", "32x16", "--json"]
    result = runner.invoke(app, argv)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["images"] == 9
    with pytest.raises(SystemExit) as exc:
        main(["synth", str(out), "--identities", "2", "--poses-per-identity", "2", "--size", "32x16"])
    assert exc.value.code == 1
    # --overwrite replaces the earlier world and leaves none of its files behind
    result = runner.invoke(app, ["synth", str(out), "-n", "2", "-k", "2", "--size", "32x16", "--overwrite", "--json"])
    assert result.exit_code == 0, result.output
    assert len(list((out / "images").iterdir())) == 4 and len(list((out / "keypoints").iterdir())) == 4
