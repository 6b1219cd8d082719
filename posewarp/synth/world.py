"""Write a synthetic dataset in exactly the layout the real pipeline produces and reads.

    OUT/images/id0003_pose02.png      RGB
    OUT/keypoints/id0003_pose02.json  OpenPose JSON v1.3, one person
    OUT/parsing/id0003_pose02.png     palette PNG of the 20 parsing labels
    OUT/annotations.csv               PATN keypoints of every image (name:keypoints_y:keypoints_x)
    OUT/pairs-train.csv, pairs-test.csv   header from,to; image file names of one identity
    OUT/pairs-val.csv                 (with a validation fraction) the validation identities' pairs
    OUT/views.csv                     name,view (front | side | back) of every image
    OUT/truth/keypoints/, truth/parsing/, truth/annotations.csv
                                      (recipes with estimated inputs) the exact keypoints and parsing;
                                      keypoints/ and parsing/ then hold what an estimator would give
    OUT/meta.json                     seed, size, recipe, counts, split, version

The split is by identity (no person is in two splits), decided by each identity's own draw
(``identity_splits``), so a person held out in one world of a seed is held out in every world of that
seed. Pairs are all ordered pairs of different poses of one identity, or a seeded sample of
``pairs_per_identity`` of them. The same arguments give byte-identical files.
"""

from __future__ import annotations

import itertools
import json
import os
from pathlib import Path

import numpy as np

from posewarp import __version__
from posewarp.console import track
from posewarp.errors import PosewarpError
from posewarp.formats import atomic, images, keypoints, outputs, parsing
from posewarp.synth import recipes
from posewarp.synth.scene import photograph

SYNTH_VERSION = 2  # 2: recipes, per-identity splits, validation pairs, views.csv, truth/
SUBFOLDERS = ("images", "keypoints", "parsing", "truth/keypoints", "truth/parsing")
TOP_FILES = ("annotations.csv", "pairs-train.csv", "pairs-val.csv", "pairs-test.csv", "views.csv",
             "truth/annotations.csv", "meta.json")
MAX_SIDE = 4096  # pixels a side of a synthetic image
MAX_IMAGES = 10_000_000  # images of one world
MAX_PAIRS = 20_000_000  # rows of the pairs files of one world


def image_name(identity: int, pose: int, identities: int = 10_000, poses: int = 100) -> str:
    """``id0003_pose02.png`` (wider numbers when the world is larger)."""
    wi, wp = max(4, len(str(identities - 1))), max(2, len(str(poses - 1)))
    return f"id{identity:0{wi}d}_pose{pose:0{wp}d}.png"


def identity_draw(seed: int, identity: int) -> float:
    """The uniform number in [0, 1) that decides identity ``identity``'s split in the world ``seed``: a function
    of the two alone, so a person is held out in every world of that seed, whatever its size or recipe."""
    return float(np.random.default_rng([int(seed), int(identity), 3]).uniform())


def identity_splits(identities: int, test_fraction: float, seed: int, val_fraction: float = 0.0) -> dict[int, str]:
    """``{identity: "train" | "val" | "test"}``: test when its draw is below ``test_fraction``, validation when
    below ``test_fraction + val_fraction``. Only a world too small to get one by chance is corrected: then the
    identity with the lowest draw is held out for test (and the next for validation), and when every identity
    would be held out, the one with the highest draw trains (unless the fractions add up to 1)."""
    if not 0.0 <= test_fraction <= 1.0 or not 0.0 <= val_fraction <= 1.0 - test_fraction:
        raise PosewarpError(f"test and validation fractions must lie in [0, 1] and add up to at most 1, "
                            f"got {test_fraction} and {val_fraction}")
    draws = {i: identity_draw(seed, i) for i in range(identities)}
    split = {i: "test" if u < test_fraction else "val" if u < test_fraction + val_fraction else "train"
             for i, u in draws.items()}  # fmt: skip
    order = sorted(draws, key=draws.get)
    for name, fraction in (("test", test_fraction), ("val", val_fraction)):
        if fraction > 0 and name not in split.values() and identities >= 2 + (name == "val"):
            free = [i for i in order if split[i] == "train"]
            if len(free) >= 2:
                split[free[0]] = name
    if test_fraction + val_fraction < 1 and identities >= 1 and "train" not in split.values():
        split[order[-1]] = "train"
    return split


def split_identities(identities: int, test_fraction: float, seed: int, val_fraction: float = 0.0) -> list[int]:
    """Sorted test identities (``identity_splits``)."""
    if identities <= 0 or test_fraction <= 0:
        return []
    return sorted(i for i, s in identity_splits(identities, test_fraction, seed, val_fraction).items() if s == "test")


def make_pairs(names: list[str], cap: int | None, rng: np.random.Generator) -> list[tuple[str, str]]:
    """All ordered pairs of different names, or ``cap`` of them drawn without replacement."""
    pairs = list(itertools.permutations(names, 2))
    if cap is not None and cap < len(pairs):
        keep = np.sort(rng.choice(len(pairs), size=cap, replace=False))
        pairs = [pairs[i] for i in keep]
    return pairs


def check_args(identities, poses_per_identity, size, test_fraction, pairs_per_identity=None, seed=0,
               val_fraction=0.0, recipe=recipes.DEFAULT_RECIPE) -> tuple[int, int]:
    """Validate the world's arguments; returns ``(H, W)`` or raises a one-line PosewarpError."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise PosewarpError(f"seed must be a non-negative integer, got {seed!r}")
    if isinstance(identities, bool) or not isinstance(identities, (int, np.integer)) or identities < 1:
        raise PosewarpError(f"identities must be a positive integer, got {identities!r}")
    k = poses_per_identity
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise PosewarpError(f"poses per identity must be a positive integer, got {poses_per_identity!r}")
    try:
        h, w = (int(v) for v in size)
    except (TypeError, ValueError):
        raise PosewarpError(f"size must be (H, W), got {size!r}") from None
    if h < 1 or w < 1:
        raise PosewarpError(f"size must be positive (HxW), got {h}x{w}")
    if max(h, w) > MAX_SIDE:
        raise PosewarpError(f"size {h}x{w} is too large: at most {MAX_SIDE} pixels a side")
    if not 0.0 <= float(test_fraction) <= 1.0:
        raise PosewarpError(f"test fraction must lie in [0, 1], got {test_fraction}")
    if not 0.0 <= float(val_fraction) <= 1.0 - float(test_fraction):
        raise PosewarpError(f"validation fraction must lie in [0, 1 - test fraction], got {val_fraction}")
    if recipe not in recipes.RECIPES:
        raise PosewarpError(f"unknown world recipe {recipe!r}; choose one of {', '.join(recipes.RECIPES)}")
    if pairs_per_identity is not None and pairs_per_identity < 1:
        raise PosewarpError(f"pairs per identity must be positive, got {pairs_per_identity}")
    if identities * k > MAX_IMAGES:
        raise PosewarpError(f"{identities} x {k} = {identities * k:,} images is more than {MAX_IMAGES:,}")
    pairs = identities * min(k * (k - 1), pairs_per_identity or k * k)
    if pairs > MAX_PAIRS:
        raise PosewarpError(f"the world would have {pairs:,} pairs, more than {MAX_PAIRS:,}; "
                            "cap them with --pairs-per-identity")  # fmt: skip
    return h, w


PROGRESS = ".synth-progress.jsonl"  # while writing: the arguments, then one line per image written


def _prepare(out: Path, overwrite: bool, resume: bool, args: dict) -> dict[str, dict]:
    """Make ``out`` ready; with ``resume``, the keypoints and views of the images an interrupted run wrote."""
    outputs.check_folder(out)
    if resume:
        done = _read_progress(out / PROGRESS, args)
        if done is None:
            raise PosewarpError("nothing to resume: no unfinished world made with these arguments here; "
                                "run without --resume", out)  # fmt: skip
        return done
    if out.is_dir() and any(out.iterdir()):
        if not overwrite:
            raise PosewarpError("folder is not empty; choose a new folder or pass --overwrite", out)
        # remove only what an earlier run of synth wrote, so a smaller world leaves no stale files behind
        for sub in SUBFOLDERS:
            for p in (out / sub).glob("id*_pose*.*") if (out / sub).is_dir() else ():
                p.unlink()
        for name in (*TOP_FILES, PROGRESS):
            if (out / name).is_file():
                (out / name).unlink()
        for sub in ("truth/keypoints", "truth/parsing", "truth"):
            if (out / sub).is_dir() and not any((out / sub).iterdir()):
                (out / sub).rmdir()
    for sub in SUBFOLDERS if recipes.get(args["recipe"]).estimated else SUBFOLDERS[:3]:
        (out / sub).mkdir(parents=True, exist_ok=True)
    atomic.write_text(out / PROGRESS, json.dumps(args) + "\n")
    return {}


def _read_progress(path: Path, args: dict) -> dict[str, dict] | None:
    """Keypoints (estimated and true) and view per image name recorded by an interrupted run with the same
    ``args`` (None: no such run)."""
    if not path.is_file():
        return None
    lines = path.read_text(encoding="utf-8").splitlines()
    try:
        if not lines or json.loads(lines[0]) != args:
            return None
    except json.JSONDecodeError:
        return None
    done = {}
    shape = (keypoints.NUM_KEYPOINTS, 3)
    for line in lines[1:]:
        try:  # the last line may be cut short by a crash
            rec = json.loads(line)
            done[rec["name"]] = {"keypoints": np.asarray(rec["keypoints"], np.float32).reshape(shape),
                                 "truth": np.asarray(rec["truth"], np.float32).reshape(shape), "view": str(rec["view"])}
        except (json.JSONDecodeError, KeyError, TypeError, ValueError):
            continue
    return done


def _record(log, path: Path, doc: dict) -> None:
    try:
        log.write(json.dumps(doc) + "\n")
        log.flush()
    except OSError as exc:
        raise outputs.os_error(exc, path) from None


def generate(
    out_dir: str | os.PathLike,
    *,
    identities: int,
    poses_per_identity: int,
    size: tuple[int, int] = recipes.DEFAULT_SIZE,
    seed: int = 0,
    test_fraction: float = recipes.DEFAULT_TEST_FRACTION,
    val_fraction: float = 0.0,
    recipe: str = recipes.DEFAULT_RECIPE,
    pairs_per_identity: int | None = None,
    overwrite: bool = False,
    resume: bool = False,
    show_progress: bool = True,
) -> dict:
    """Render ``identities`` x ``poses_per_identity`` photos under ``recipe`` into ``out_dir``; returns the meta
    dict.

    Ctrl-C stops after the current image; ``resume=True`` (``--resume``) then renders only the rest, and the
    files are the same bytes as those of an uninterrupted run."""
    from posewarp.interrupt import graceful

    h, w = check_args(identities, poses_per_identity, size, test_fraction, pairs_per_identity, seed, val_fraction,
                      recipe)  # fmt: skip
    rec = recipes.get(recipe)
    out = Path(out_dir)
    args = {"identities": int(identities), "poses_per_identity": int(poses_per_identity), "size": [h, w],
            "seed": int(seed), "test_fraction": float(test_fraction), "val_fraction": float(val_fraction),
            "recipe": rec.name, "pairs_per_identity": pairs_per_identity}  # fmt: skip
    done = _prepare(out, overwrite, resume, args)
    splits = identity_splits(identities, test_fraction, seed, val_fraction)
    names = {
        i: [image_name(i, k, identities, poses_per_identity) for k in range(poses_per_identity)]
        for i in range(identities)
    }
    annotations: dict[str, np.ndarray] = {}
    truth: dict[str, np.ndarray] = {}
    views: dict[str, str] = {}
    jobs = [(i, k) for i in range(identities) for k in range(poses_per_identity)]
    visible = 0
    note = (lambda: f"{len(annotations)} of {len(jobs)} images are in {out}; run the same command with --resume "
            "to finish the world")  # fmt: skip
    with graceful(note, what="this image") as stop, open(out / PROGRESS, "a", encoding="utf-8") as log:
        for i, k in track(jobs, "synth", total=len(jobs), show=show_progress):
            stop.check()
            name = names[i][k]
            files = _files(out, name, rec.estimated)
            rec_done = done.get(name) if all(f.is_file() for f in files) else None
            if rec_done is None:
                shot = photograph(i, k, size=(h, w), seed=seed, recipe=rec)
                images.write_image(files[0], shot.rgb)
                parsing.write_label_png(files[1], shot.est_labels)
                keypoints.write_openpose_json(files[2], shot.est_keypoints)
                if rec.estimated:
                    parsing.write_label_png(files[3], shot.labels)
                    keypoints.write_openpose_json(files[4], shot.keypoints)
                rec_done = {"keypoints": shot.est_keypoints, "truth": shot.keypoints, "view": shot.view}
                _record(log, out / PROGRESS, {"name": name, "view": shot.view,
                                              **{key: _flat(rec_done[key]) for key in ("keypoints", "truth")}})  # fmt: skip
            annotations[name], truth[name], views[name] = rec_done["keypoints"], rec_done["truth"], rec_done["view"]
            visible += int((annotations[name][:, 2] > 0).sum())
    keypoints.write_patn_csv(out / "annotations.csv", annotations)
    if rec.estimated:
        keypoints.write_patn_csv(out / "truth" / "annotations.csv", truth)
    atomic.write_text(out / "views.csv", "name,view\n" + "".join(f"{n},{v}\n" for n, v in views.items()))

    pair_rng = np.random.default_rng([int(seed), 4])
    split_pairs: dict[str, list[tuple[str, str]]] = {"train": [], "val": [], "test": []}
    for i in range(identities):
        split_pairs[splits[i]].extend(make_pairs(names[i], pairs_per_identity, pair_rng))
    for split, pairs in split_pairs.items():
        if split != "val" or val_fraction > 0:
            keypoints.write_pairs_csv(out / f"pairs-{split}.csv", pairs)

    id_name = lambda i: Path(names[i][0]).stem.split("_")[0]  # noqa: E731
    meta = {
        "generator": "posewarp synth",
        "version": SYNTH_VERSION,
        "posewarp": __version__,
        "seed": int(seed),
        "size": [h, w],
        "recipe": recipes.as_dict(rec),
        "identities": int(identities),
        "poses_per_identity": int(poses_per_identity),
        "images": len(jobs),
        "test_fraction": float(test_fraction),
        "val_fraction": float(val_fraction),
        "pairs_per_identity": pairs_per_identity,
        "train_identities": sum(s == "train" for s in splits.values()),
        "val_identities": sum(s == "val" for s in splits.values()),
        "test_identities": sum(s == "test" for s in splits.values()),
        "train_pairs": len(split_pairs["train"]),
        "val_pairs": len(split_pairs["val"]),
        "test_pairs": len(split_pairs["test"]),
        "visible_keypoints": visible,
        "views": {v: sum(x == v for x in views.values()) for v in ("front", "side", "back")},
        "val_identity_names": [id_name(i) for i in sorted(splits) if splits[i] == "val"],
        "test_identity_names": [id_name(i) for i in sorted(splits) if splits[i] == "test"],
    }
    atomic.write_text(out / "meta.json", json.dumps(meta, indent=2) + "\n")
    (out / PROGRESS).unlink()
    return meta


def _files(out: Path, name: str, truth: bool) -> tuple[Path, ...]:
    """The image, parsing and keypoint files of one photo (and, for ``truth``, the exact parsing and keypoints)."""
    stem = Path(name).stem
    files = (out / "images" / name, out / "parsing" / f"{stem}.png", out / "keypoints" / f"{stem}.json")
    if truth:
        files += (out / "truth" / "parsing" / f"{stem}.png", out / "truth" / "keypoints" / f"{stem}.json")
    return files


def _flat(kp: np.ndarray) -> list[float]:
    return kp.astype(np.float64).ravel().tolist()
