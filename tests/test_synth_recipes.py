"""World recipes: determinism, stable identities and splits, garments with a back, estimated inputs at their rates."""

import dataclasses

import numpy as np
import pytest

from posewarp.formats import images, parsing
from posewarp.formats import keypoints as K
from posewarp.synth import estimated, generate, identity_splits, photograph, render
from posewarp.synth.recipes import RECIPES, get
from posewarp.synth.scene import recipe_identity
from posewarp.synth.skeleton import Pose

SIZE = (128, 64)


def test_mannequin_is_the_first_world_and_every_recipe_is_deterministic():
    for i, k in ((0, 0), (3, 2)):
        shot = photograph(i, k, size=SIZE, seed=5, recipe="mannequin")
        rgb, labels, kp = render(i, k, size=SIZE, seed=5)
        np.testing.assert_array_equal(shot.rgb, rgb)
        np.testing.assert_array_equal(shot.est_labels, labels)
    for name in ("fashion", "street"):
        a, b = photograph(2, 1, size=SIZE, seed=5, recipe=name), photograph(2, 1, size=SIZE, seed=5, recipe=name)
        for x, y in zip(a, b):
            np.testing.assert_array_equal(np.asarray(x), np.asarray(y))


def test_an_identity_is_the_same_person_in_every_recipe_and_world_size():
    base = recipe_identity(0, 7, get("mannequin"))
    fashion = recipe_identity(0, 7, get("fashion"))
    assert dataclasses.replace(fashion, sides=None) == base and fashion.sides is not None
    for n in (10, 40, 200):
        splits = identity_splits(n, 0.2, 0, 0.1)
        assert splits[7] == identity_splits(10, 0.2, 0, 0.1)[7]  # held out (or not) whatever the world's size


def test_splits_are_disjoint_by_identity_with_validation(tmp_path):
    meta = generate(tmp_path / "w", identities=12, poses_per_identity=2, size=(32, 16), seed=1, test_fraction=0.25,
                    val_fraction=0.25, recipe="fashion", show_progress=False)
    who = {}
    for split in ("train", "val", "test"):
        for a, b in K.read_pairs_csv(tmp_path / "w" / f"pairs-{split}.csv"):
            assert a.split("_")[0] == b.split("_")[0]
            assert who.setdefault(a.split("_")[0], split) == split
    assert set(who.values()) == {"train", "val", "test"}
    assert sorted(k for k, v in who.items() if v == "test") == meta["test_identity_names"]
    assert sorted(k for k, v in who.items() if v == "val") == meta["val_identity_names"]
    # the truth sits beside the estimates, and they differ
    truth = parsing.read_label_png(tmp_path / "w" / "truth" / "parsing" / "id0000_pose00.png")
    est = parsing.read_label_png(tmp_path / "w" / "parsing" / "id0000_pose00.png")
    assert truth.shape == est.shape == (32, 16) and (truth != est).any()
    assert images.read_image(tmp_path / "w" / "images" / "id0000_pose00.png").shape == (32, 16, 3)


def test_the_back_of_a_garment_is_not_its_front():
    """The same person and pose from the front and from the back (mirrored to overlay): the top garment differs
    by more than its mannequin version, where only shading and the logo tell the two sides apart."""
    def garment_difference(recipe):
        diffs = []
        for i in range(6):
            ident = recipe_identity(0, i, get(recipe))
            (a, la, _), (b, lb, _) = (render(ident, Pose(yaw=y), size=(256, 176)) for y in (0.0, 180.0))
            b, lb = b[:, ::-1], lb[:, ::-1]
            both = np.isin(la, (5, 6)) & np.isin(lb, (5, 6))
            diffs.append(np.abs(a.astype(float) - b.astype(float))[both].mean())
        return np.mean(diffs)

    assert garment_difference("fashion") > garment_difference("mannequin") + 5


def test_estimated_keypoints_miss_and_jitter_at_their_rates():
    _, _, kp = render(1, 0, size=(256, 176))
    rng = np.random.default_rng(0)
    seen = kp[:, 2] > 0
    kept, shift = [], []
    for _ in range(400):
        est = estimated.keypoints(kp, rng, height=256, width=176, jitter=0.04, miss=0.1, swap=0.0)
        ok = est[:, 2] > 0
        assert not (ok & ~seen).any()  # nothing hidden is invented
        kept.append(ok[seen].mean())
        shift.append(np.hypot(*(est[ok & seen, :2] - kp[ok & seen, :2]).T).mean())
    extremities = sum(seen[i] for i in estimated.EXTREMITIES)
    expected_miss = (0.1 * (seen.sum() - extremities) + 0.2 * extremities) / seen.sum()
    assert 1 - np.mean(kept) == pytest.approx(expected_miss, abs=0.02)
    torso = estimated._torso_length(kp, 256)
    assert np.mean(shift) == pytest.approx(0.04 * torso * np.sqrt(np.pi / 2), rel=0.1)  # mean of a Rayleigh


def test_estimated_parsing_is_ragged_and_confused_at_its_rate():
    _, labels, _ = render(1, 0, size=(256, 176))
    clean = estimated.parsing(labels, np.random.default_rng(0), ragged=0.0, confuse=0.0)
    np.testing.assert_array_equal(clean, labels)
    ragged = estimated.parsing(labels, np.random.default_rng(0), ragged=1.5, confuse=0.0)
    changed = (ragged != labels).mean()
    boundary = (labels != np.roll(labels, 1, 0)) | (labels != np.roll(labels, 1, 1))
    assert 0 < changed and (ragged != labels)[~boundary].mean() < (ragged != labels)[boundary].mean()
    confusable = [int(v) for v in np.unique(labels) if int(v) in estimated.CONFUSED]
    hits = 0
    for seed in range(60):
        out = estimated.parsing(labels, np.random.default_rng(seed), ragged=0.0, confuse=0.3)
        hits += sum(int(((labels == v) & (out == estimated.CONFUSED[v])).any()) for v in confusable)
    assert hits / (60 * len(confusable)) == pytest.approx(0.3, abs=0.08)


def test_recipes_share_one_shape():
    keys = {f.name for f in dataclasses.fields(next(iter(RECIPES.values())))}
    assert all({f.name for f in dataclasses.fields(r)} == keys for r in RECIPES.values())
    with pytest.raises(ValueError, match="mannequin"):
        get("nope")
