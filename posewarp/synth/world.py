"""Write a synthetic dataset in exactly the layout the real pipeline produces and reads.

    OUT/images/id0003_pose02.png      RGB
    OUT/keypoints/id0003_pose02.json  OpenPose JSON v1.3, one person
    OUT/parsing/id0003_pose02.png     palette PNG of the 20 parsing labels
    OUT/annotations.csv               PATN keypoints of every image (name:keypoints_y:keypoints_x)
    OUT/pairs-train.csv, pairs-test.csv   header from,to; image file names of one identity
    OUT/meta.json                     seed, size, counts, split, version

The split is by identity (no person is in both); pairs are all ordered pairs of different poses of
one identity, or a seeded sample of ``pairs_per_identity`` of them. The same arguments give
byte-identical files.
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
from posewarp.synth.person import render

SYNTH_VERSION = 1
SUBFOLDERS = ("images", "keypoints", "parsing")
TOP_FILES = ("annotations.csv", "pairs-train.csv", "pairs-test.csv", "meta.json")
MAX_SIDE = 4096  # pixels a side of a synthetic image
MAX_IMAGES = 10_000_000  # images of one world
MAX_PAIRS = 20_000_000  # rows of the pairs files of one world


def image_name(identity: int, pose: int, identities: int = 10_000, poses: int = 100) -> str:
    """``id0003_pose02.png`` (wider numbers when the world is larger)."""
    wi, wp = max(4, len(str(identities - 1))), max(2, len(str(poses - 1)))
    return f"id{identity:0{wi}d}_pose{pose:0{wp}d}.png"


def split_identities(identities: int, test_fraction: float, seed: int) -> list[int]:
    """Sorted test identities: ``round(N * f)`` of them, at least one when ``f > 0`` and ``N >= 2``,
    and at least one identity left for training unless ``f >= 1``."""
    if identities <= 0 or test_fraction <= 0:
        return []
    if test_fraction >= 1:
        return list(range(identities))
    n = round(identities * test_fraction)
    n = min(max(n, 1), identities - 1) if identities >= 2 else 0
    order = np.random.default_rng([int(seed), 3]).permutation(identities)
    return sorted(int(i) for i in order[:n])


def make_pairs(names: list[str], cap: int | None, rng: np.random.Generator) -> list[tuple[str, str]]:
    """All ordered pairs of different names, or ``cap`` of them drawn without replacement."""
    pairs = list(itertools.permutations(names, 2))
    if cap is not None and cap < len(pairs):
        keep = np.sort(rng.choice(len(pairs), size=cap, replace=False))
        pairs = [pairs[i] for i in keep]
    return pairs


def check_args(identities, poses_per_identity, size, test_fraction, pairs_per_identity=None, seed=0) -> tuple[int, int]:
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


def _prepare(out: Path, overwrite: bool, resume: bool, args: dict) -> dict[str, np.ndarray]:
    """Make ``out`` ready; with ``resume``, the keypoints of the images an interrupted run already wrote."""
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
    for sub in SUBFOLDERS:
        (out / sub).mkdir(parents=True, exist_ok=True)
    atomic.write_text(out / PROGRESS, json.dumps(args) + "\n")
    return {}


def _read_progress(path: Path, args: dict) -> dict[str, np.ndarray] | None:
    """Keypoints per image name recorded by an interrupted run with the same ``args`` (None: no such run)."""
    if not path.is_file():
        return None
    lines = path.read_text(encoding="utf-8").splitlines()
    try:
        if not lines or json.loads(lines[0]) != args:
            return None
    except json.JSONDecodeError:
        return None
    done = {}
    for line in lines[1:]:
        try:  # the last line may be cut short by a crash
            rec = json.loads(line)
            done[rec["name"]] = np.asarray(rec["keypoints"], np.float32).reshape(keypoints.NUM_KEYPOINTS, 3)
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
    size: tuple[int, int] = (256, 176),
    seed: int = 0,
    test_fraction: float = 0.1,
    pairs_per_identity: int | None = None,
    overwrite: bool = False,
    resume: bool = False,
    show_progress: bool = True,
) -> dict:
    """Render ``identities`` x ``poses_per_identity`` people into ``out_dir``; returns the meta dict.

    Ctrl-C stops after the current image; ``resume=True`` (``--resume``) then renders only the rest, and the
    files are the same bytes as those of an uninterrupted run."""
    from posewarp.interrupt import graceful

    h, w = check_args(identities, poses_per_identity, size, test_fraction, pairs_per_identity, seed)
    out = Path(out_dir)
    args = {"identities": int(identities), "poses_per_identity": int(poses_per_identity), "size": [h, w],
            "seed": int(seed), "test_fraction": float(test_fraction), "pairs_per_identity": pairs_per_identity}  # fmt: skip
    done = _prepare(out, overwrite, resume, args)
    test_ids = set(split_identities(identities, test_fraction, seed))
    names = {
        i: [image_name(i, k, identities, poses_per_identity) for k in range(poses_per_identity)]
        for i in range(identities)
    }
    annotations: dict[str, np.ndarray] = {}
    jobs = [(i, k) for i in range(identities) for k in range(poses_per_identity)]
    visible = 0
    note = (lambda: f"{len(annotations)} of {len(jobs)} images are in {out}; run the same command with --resume "
            "to finish the world")  # fmt: skip
    with graceful(note, what="this image") as stop, open(out / PROGRESS, "a", encoding="utf-8") as log:
        for i, k in track(jobs, "synth", total=len(jobs), show=show_progress):
            stop.check()
            name = names[i][k]
            stem = Path(name).stem
            files = (out / "images" / name, out / "parsing" / f"{stem}.png", out / "keypoints" / f"{stem}.json")
            kp = done.get(name) if all(f.is_file() for f in files) else None
            if kp is None:
                rgb, labels, kp = render(i, k, size=(h, w), seed=seed)
                images.write_image(files[0], rgb)
                parsing.write_label_png(files[1], labels)
                keypoints.write_openpose_json(files[2], kp)
                _record(log, out / PROGRESS, {"name": name, "keypoints": kp.astype(np.float64).ravel().tolist()})
            annotations[name] = kp
            visible += int((kp[:, 2] > 0).sum())
    keypoints.write_patn_csv(out / "annotations.csv", annotations)

    pair_rng = np.random.default_rng([int(seed), 4])
    train_pairs: list[tuple[str, str]] = []
    test_pairs: list[tuple[str, str]] = []
    for i in range(identities):
        pairs = make_pairs(names[i], pairs_per_identity, pair_rng)
        (test_pairs if i in test_ids else train_pairs).extend(pairs)
    keypoints.write_pairs_csv(out / "pairs-train.csv", train_pairs)
    keypoints.write_pairs_csv(out / "pairs-test.csv", test_pairs)

    id_name = lambda i: Path(names[i][0]).stem.split("_")[0]  # noqa: E731
    meta = {
        "generator": "posewarp synth",
        "version": SYNTH_VERSION,
        "posewarp": __version__,
        "seed": int(seed),
        "size": [h, w],
        "identities": int(identities),
        "poses_per_identity": int(poses_per_identity),
        "images": len(jobs),
        "test_fraction": float(test_fraction),
        "pairs_per_identity": pairs_per_identity,
        "train_identities": identities - len(test_ids),
        "test_identities": len(test_ids),
        "train_pairs": len(train_pairs),
        "test_pairs": len(test_pairs),
        "visible_keypoints": visible,
        "test_identity_names": [id_name(i) for i in sorted(test_ids)],
    }
    atomic.write_text(out / "meta.json", json.dumps(meta, indent=2) + "\n")
    (out / PROGRESS).unlink()
    return meta
