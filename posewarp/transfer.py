"""``posewarp transfer``: find the inputs, run the pipeline, write pictures, GIFs and batch results.

* The target pose: any pose file ``keypoints.read_poses`` reads (OpenPose COCO-18 or BODY_25 JSON, COCO-17
  keypoints, MS COCO JSON, PATN CSV; several poses in one file are a sequence), a PATN row given inline
  (``"name: [ys]: [xs]"``), a folder of pose JSON files (a sequence), or an image (its pose is estimated
  with OpenPose). In a file with several people, ``--person N`` or the largest by keypoint box.
* The source keypoints and parsing: ``--src-pose`` / ``--src-parsing``, else the files ``posewarp keypoints``
  and ``posewarp parse`` write beside the image (``keypoints/<stem>.json`` and ``parsing/<stem>.png`` in
  the image's folder or its parent), else estimated with the registry's weights.
* Batch mode (every pair of a pack) is ``transfer_batch.py``.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from posewarp.errors import PosewarpError
from posewarp.formats import atomic, clashes, draw, images, outputs
from posewarp.formats import keypoints as K
from posewarp.formats import parsing as P

ANIMATIONS = (".gif", ".mp4")


# --- inputs -------------------------------------------------------------------------------------


def _estimate_pose(rgb: np.ndarray, device: str, weights, hint: str) -> np.ndarray:
    """The best person OpenPose finds; without its weights, an error that says ``hint`` (how to do without)."""
    from posewarp.preprocess.keypoints import KeypointEstimator
    from posewarp.weights import require

    estimator = KeypointEstimator(require("openpose", weights, alternatives=(hint,)), device=device)
    people = estimator(rgb)
    if len(people) == 0:
        raise PosewarpError("OpenPose found no person in the image")
    return K.select_person(people, "best")


def _choose(entries: list[tuple[str, np.ndarray]], person: int | None, path) -> tuple[list, str]:
    """One person per entry, and a note saying which (for a sequence: how many entries had several)."""
    chosen, several, note = [], 0, ""
    for name, people in entries:
        kp, note = K.choose_person(people, person, path if len(entries) == 1 else f"{path} ({name})")
        chosen.append((name, kp))
        several += len(people) > 1
    if len(entries) > 1:
        how = f"person {person}" if person is not None else "the largest in each"
        note = f"{several} of {len(entries)} poses had several people; used {how}" if several else ""
    return chosen, note


def read_target_poses(spec: str, *, pose_format: str = "auto", person: int | None = None, device: str = "auto",
                      weights=None) -> tuple[list[tuple[str, np.ndarray]], str]:
    """The target pose(s) named by ``--pose`` as a list of (name, (18, 3)) (more than one is a sequence),
    and a line saying what was read and which person was used."""
    path = Path(spec)
    if path.is_dir():
        files = sorted(path.glob("*.json"))
        if not files:
            raise PosewarpError("no pose JSON files in the pose folder", path)
        entries, formats = [], set()
        for f in files:
            poses = K.read_poses(f, pose_format)
            if len(poses.entries) != 1:
                raise PosewarpError(f"holds {len(poses.entries)} poses; a file in a pose folder must hold one", f)
            entries.append((f.stem, poses.entries[0][1]))
            formats.add(poses.format)
        fmt = "+".join(sorted(formats))
    elif path.is_file() and path.suffix.lower() in images.IMAGE_EXTENSIONS and pose_format == "auto":
        pose = _estimate_pose(images.read_image(path), device, weights, "give --pose a pose file (JSON or CSV)")
        return [(path.stem, pose)], "estimated (openpose)"
    elif path.exists() or path.is_symlink():  # a FIFO or device is refused by the reader, naming it
        if path.suffix.lower() not in (".json", ".csv") and pose_format == "auto":
            raise PosewarpError("unknown pose file type (use .json, .csv, an image or a folder)", path)
        poses = K.read_poses(path, pose_format)
        if not poses.entries:
            raise PosewarpError("no pose in the file", path)
        entries, fmt = [(Path(n).stem, people) for n, people in poses.entries], poses.format
    elif ":" in spec and "[" in spec:
        name, kp = K.from_patn_row(spec)
        K.check_values(kp, "--pose")
        entries, fmt = [(Path(name).stem or "pose", kp[None])], "patn"
    else:
        raise PosewarpError("pose file not found", spec)
    chosen, note = _choose(entries, person, spec)
    return chosen, ", ".join(filter(None, (fmt, note)))


def _source_pose(pose_file: Path, src: Path, rgb: np.ndarray, pose_format: str, person: int | None
                 ) -> tuple[np.ndarray, str]:
    """The source person from its pose file: the file's only image, or the entry named like the source."""
    poses = K.read_poses(pose_file, pose_format)
    named = [p for n, p in poses.entries if Path(n).name == src.name] or \
        [p for n, p in poses.entries if Path(n).stem == src.stem]  # fmt: skip
    if len(poses.entries) == 1:
        people = poses.entries[0][1]
    elif named:
        people = named[0]
    else:
        raise PosewarpError(f"holds {len(poses.entries)} images' poses, none named {src.name!r}", pose_file)
    kp, note = K.choose_person(people, person, pose_file)
    K.check_values(kp, pose_file, rgb.shape[:2])
    return kp, f"{pose_file} ({', '.join(filter(None, (poses.format, note)))})"


def _beside(src: Path, folder: str, suffix: str) -> Path | None:
    for base in (src.parent, src.parent.parent):
        candidate = base / folder / f"{src.stem}{suffix}"
        if candidate.is_file():
            return candidate
    return None


def source_inputs(src: Path, rgb: np.ndarray, *, src_pose=None, src_parsing=None, device: str = "auto",
                  keypoint_weights=None, parser_weights=None, pose_format: str = "auto",
                  person: int | None = None) -> tuple[np.ndarray, np.ndarray, dict]:
    """The source's keypoints ``(18, 3)`` and labels ``(H, W)``, and where each came from."""
    origin = {}
    pose_file = Path(src_pose) if src_pose else _beside(src, "keypoints", ".json")
    if pose_file is not None:
        kp, origin["keypoints"] = _source_pose(pose_file, src, rgb, pose_format, person)
    else:
        kp = _estimate_pose(rgb, device, keypoint_weights, "give the source keypoints with --src-pose FILE")
        origin["keypoints"] = "estimated (openpose)"
    label_file = Path(src_parsing) if src_parsing else _beside(src, "parsing", ".png")
    if label_file is not None:
        labels = P.check_labels(P.read_label_png(label_file), label_file)
        origin["parsing"] = str(label_file)
    else:
        from posewarp.preprocess.choices import DEFAULT_PARSER_DATASET
        from posewarp.preprocess.parser import HumanParser, get_dataset
        from posewarp.weights import require

        hint = "give the source parsing with --src-parsing FILE"
        weights = require(get_dataset(DEFAULT_PARSER_DATASET).weights, parser_weights, alternatives=(hint,))
        parser = HumanParser(weights, device=device)
        labels = parser(rgb)
        origin["parsing"] = "estimated (schp-lip)"
    if labels.shape != rgb.shape[:2]:
        raise PosewarpError(f"parsing is {labels.shape[1]}x{labels.shape[0]} but the image is "
                            f"{rgb.shape[1]}x{rgb.shape[0]}", origin["parsing"])
    return kp, labels, origin


# --- outputs ------------------------------------------------------------------------------------


def result_row(result) -> list[np.ndarray]:
    """source | target pose | predicted parsing | output."""
    size = result.image.shape[:2]
    return [result.source, draw.pose_picture(result.target_keypoints, size), draw.parsing_picture(result.parsing),
            result.image]


GRID_TITLES = ["source", "target pose", "parsing", "output"]


def write_animation(path: Path, frames: list[np.ndarray], fps: float) -> None:
    """An animated GIF (PIL) or MP4 (OpenCV, mp4v), written atomically."""
    if path.suffix.lower() == ".gif":
        from PIL import Image

        pics = [Image.fromarray(f) for f in frames]
        with atomic.atomic_path(path) as tmp:
            pics[0].save(tmp, format="GIF", save_all=True, append_images=pics[1:], duration=int(1000 / fps), loop=0)
        return
    import cv2

    h, w = frames[0].shape[:2]
    with atomic.atomic_path(path) as tmp:
        writer = cv2.VideoWriter(str(tmp), cv2.VideoWriter_fourcc(*"mp4v"), fps, (w, h))
        if not writer.isOpened():
            raise PosewarpError("OpenCV cannot write MP4 here; use a .gif output", path)
        for f in frames:
            writer.write(f[:, :, ::-1])
        writer.release()


def check_output_names(out, grid) -> None:
    """``--out`` and ``--grid`` can be written (by extension), checked before anything is read or computed."""
    images.check_output_name(out, "--out", ANIMATIONS)
    images.check_output_name(grid, "--grid")


def unique_frame_names(targets: list[tuple[str, np.ndarray]]) -> list[tuple[str, np.ndarray]]:
    """Sequence frames under names that are distinct files (``a/x.jpg`` and ``b/x.jpg`` are both ``x``; names that
    differ only in case are one file on macOS and Windows): a repeated name gets ``-2``, ``-3`` ...; a name
    that cannot be a file name (empty, ``.``, a NUL byte, a path separator) becomes ``frame<N>``."""
    seen, named = set(), []
    for i, (name, kp) in enumerate(targets):
        base = name if name not in ("", ".", "..") and not any(c in name for c in "/\\\x00") else f"frame{i:05d}"
        base = base[:200]
        candidate, n = base, 1
        while candidate.lower() in seen:
            n += 1
            candidate = f"{base}-{n}"
        seen.add(candidate.lower())
        named.append((candidate, kp))
    return named


def pose_files(spec: str) -> list[Path]:
    """The files ``--pose`` names (a file, or a folder's JSON files), for the output checks; none for an inline row."""
    path = Path(spec)
    if path.is_dir():
        return sorted(path.glob("*.json"))
    return [path] if path.exists() else []


def transfer(src: str | os.PathLike, pose: str, out: str | os.PathLike | None = None, *, src_pose=None,
             src_parsing=None, stage1=None, stage2=None, align: bool = True, grid: str | os.PathLike | None = None,
             device: str = "auto", fps: float = 8.0, keypoint_weights=None, parser_weights=None,
             size: tuple[int, int] | None = None, pose_format: str = "auto", person: int | None = None,
             src_person: int | None = None) -> dict:
    """One source person into one pose (``out`` an image) or a pose sequence (``out`` a .gif/.mp4 plus frames).

    ``pose_format`` forces the format of ``pose`` and ``src_pose`` (default: detected); ``person`` and
    ``src_person`` pick a person in files with several (default: the largest by keypoint box). Without
    ``out`` the result is ``<src stem>-<pose stem>.png`` (``.gif`` for a sequence) in the current folder."""
    from posewarp.inference import TransferPipeline
    from posewarp.interrupt import graceful
    from posewarp.snapshots import resolve_snapshot

    src = Path(src)
    if not 0.1 <= fps <= 120:  # also refuses NaN
        raise PosewarpError(f"--fps must be a number from 0.1 to 120, got {fps}")
    for given in (out, grid):
        if given is not None:
            outputs.check_file(given)
    check_output_names(out, grid)
    src_pose = Path(src_pose) if src_pose else None
    src_parsing = Path(src_parsing) if src_parsing else None
    found_pose = src_pose or _beside(src, "keypoints", ".json")
    found_parsing = src_parsing or _beside(src, "parsing", ".png")
    places = clashes.Places()  # every input and output compared before any pose is read or estimated
    places.read(src, "the source image SRC", option=True)
    for path in pose_files(pose):
        places.read(path, "--pose", option=True)
    places.read(found_pose, "--src-pose" if src_pose else "the source keypoints found beside the image",
                option=src_pose is not None)  # fmt: skip
    places.read(found_parsing, "--src-parsing" if src_parsing else "the source parsing found beside the image",
                option=src_parsing is not None)  # fmt: skip
    for which, given in (("stage1", stage1), ("stage2", stage2)):
        if given is not None and Path(given).exists():
            places.read(resolve_snapshot(given), f"--{which}", option=True)
    places.write(out, "--out", option=True)
    places.write(grid, "--grid", option=True)
    targets, pose_note = read_target_poses(pose, pose_format=pose_format, person=person, device=device,
                                           weights=keypoint_weights)  # fmt: skip
    if out is None:
        out = f"{src.stem}-{targets[0][0]}.png" if len(targets) == 1 else f"{src.stem}-{Path(pose).stem}.gif"
        places.write(outputs.check_file(out), "the output (named after SRC and --pose)")
    out = Path(out)
    sequence = len(targets) > 1 or out.suffix.lower() in ANIMATIONS
    if sequence and out.suffix.lower() not in ANIMATIONS:
        raise PosewarpError(f"a pose sequence ({len(targets)} poses) needs --out ending in .gif or .mp4", out)
    frames_dir = out.with_name(f"{out.stem}-frames")
    targets = unique_frame_names(targets) if sequence else targets
    if sequence:
        outputs.check_folder(frames_dir)
        for name, _ in targets:
            places.write(frames_dir / f"{name}.png", f"frame {name!r} of --out")
    rgb = images.read_image(src)
    src_kp, labels, origin = source_inputs(src, rgb, src_pose=found_pose, src_parsing=found_parsing,
                                           device=device, keypoint_weights=keypoint_weights,
                                           parser_weights=parser_weights,
                                           pose_format=pose_format if src_pose else "auto",
                                           person=src_person)  # fmt: skip
    origin["pose"] = f"{pose} ({pose_note})"
    pipeline = TransferPipeline.load(stage1, stage2, device=device, size=size)
    framing = pipeline.framing(rgb, src_kp, labels)
    notes = [n for n in (framing.describe(), synthetic_note(stage1, stage2, rgb.shape[:2], pipeline.size)) if n]
    results, written = [], []
    note = (lambda: f"{len(results)} of {len(targets)} frames are in {frames_dir}; {out} was not written"
            if sequence else f"{out} was not written")  # fmt: skip
    with graceful(note, immediate=True):
        for name, kp in targets:
            results.append(pipeline(rgb, src_kp, labels, kp, align=align, framing=framing))
            if sequence:
                images.write_image(frames_dir / f"{name}.png", results[-1].full)
    if sequence:
        write_animation(out, [r.full for r in results], fps)
        written += [str(out), str(frames_dir)]
    else:
        images.write_image(out, results[0].full)
        written.append(str(out))
    if grid is not None:
        images.write_image(Path(grid), draw.grid([result_row(r) for r in results], GRID_TITLES))
        written.append(str(grid))
    return {"source": str(src), "poses": [n for n, _ in targets], "inputs": origin, "size": list(pipeline.size),
            "output_size": list(rgb.shape[:2]), "notes": notes, "written": written, "device": str(pipeline.device)}


def synthetic_note(stage1, stage2, source_size: tuple[int, int], size: tuple[int, int]) -> str | None:
    """Said once when the shipped demo weights (trained on the synthetic mannequin world only, at their own size)
    run on an image of another size: a photo, most likely, on which they cannot do well."""
    if (stage1 is not None and stage2 is not None) or tuple(source_size) == tuple(size):
        return None
    return (f"the shipped demo weights were trained only on posewarp's synthetic mannequin world at "
            f"{size[0]}x{size[1]}; on a photo expect a rough, mannequin-like person: train on your own data "
            "(posewarp train) and pass --stage1/--stage2 for real photos")  # fmt: skip
