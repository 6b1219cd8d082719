"""OpenPose COCO-18 body keypoints: names, left/right swap, limbs, OpenPose JSON and PATN CSV.

Arrays are ``(18, 3)`` (one person) or ``(P, 18, 3)`` (several) float32 rows of x, y, confidence in
pixels of the image they belong to; a missing point has confidence 0 (written 0,0,0 in OpenPose JSON
and -1,-1 in PATN CSV). "R" is the person's own right (image left for a frontal person).

:func:`read_poses` is the one reader of pose input, whatever its source: OpenPose JSON (COCO-18, BODY_25,
v1.0 or later), COCO-17 keypoints (MS COCO annotation files, mmpose/YOLO-pose outputs, plain arrays) and
PATN CSV rows, all mapped to COCO-18 (``keypoint_layouts.py``, ``pose_json.py``). :func:`choose_person`
picks one person of several: ``--person N``, else the largest by keypoint bounding box.
"""

from __future__ import annotations

import csv
import io
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from posewarp.errors import PosewarpError
from posewarp.formats import atomic, jsonfile, pose_json
from posewarp.formats.input_file import csv_rows, read_text
from posewarp.formats.keypoint_layouts import LAYOUT_SIZES, layout_of, to_coco18
from posewarp.formats.numbers import number_array

NUM_KEYPOINTS = 18

KEYPOINT_NAMES = (
    "nose", "neck",
    "right_shoulder", "right_elbow", "right_wrist",
    "left_shoulder", "left_elbow", "left_wrist",
    "right_hip", "right_knee", "right_ankle",
    "left_hip", "left_knee", "left_ankle",
    "right_eye", "left_eye", "right_ear", "left_ear",
)  # fmt: skip

# Index of each keypoint's mirror image: what a horizontal flip turns it into.
FLIP_PERMUTATION = (0, 1, 5, 6, 7, 2, 3, 4, 11, 12, 13, 8, 9, 10, 15, 14, 17, 16)

# The 19 limbs of the OpenPose COCO decoder (limbSeq, 0-based), in PAF channel-pair order of mapIdx.
LIMBS = (
    (1, 2), (1, 5), (2, 3), (3, 4), (5, 6), (6, 7), (1, 8), (8, 9), (9, 10), (1, 11),
    (11, 12), (12, 13), (1, 0), (0, 14), (14, 16), (0, 15), (15, 17), (2, 16), (5, 17),
)  # fmt: skip

# The head points PCKh uses for the head box (nose, neck, eyes, ears).
HEAD_KEYPOINTS = (0, 1, 14, 15, 16, 17)

OPENPOSE_JSON_VERSION = 1.3


def empty() -> np.ndarray:
    """One person with every keypoint missing."""
    return np.zeros((NUM_KEYPOINTS, 3), np.float32)


def check_shape(kp: np.ndarray, path: str | os.PathLike | None = None) -> np.ndarray:
    """Return ``kp`` as float32 ``(..., 18, 3)`` or raise naming the file."""
    kp = np.asarray(kp, dtype=np.float32)
    if kp.ndim < 2 or kp.shape[-2:] != (NUM_KEYPOINTS, 3):
        raise PosewarpError(f"expected {NUM_KEYPOINTS} keypoints of (x, y, confidence), got shape {kp.shape}", path)
    return kp


def visible(kp: np.ndarray) -> np.ndarray:
    """Boolean mask of the keypoints that are present (confidence > 0)."""
    return np.asarray(kp)[..., 2] > 0


def flip(kp: np.ndarray, width: int) -> np.ndarray:
    """Mirror keypoints horizontally in an image ``width`` pixels wide, swapping left and right.

    Pixel centres sit at integer coordinates, so x maps to ``width - 1 - x``.
    """
    kp = check_shape(kp).copy()
    out = kp[..., FLIP_PERMUTATION, :].copy()
    present = out[..., 2] > 0
    out[..., 0] = np.where(present, width - 1 - out[..., 0], 0.0)
    out[..., 1] = np.where(present, out[..., 1], 0.0)
    return out


def bbox_area(kp: np.ndarray) -> float:
    """Area of the box around a person's visible keypoints (0 with fewer than two)."""
    pts = kp[visible(kp)][:, :2]
    if len(pts) < 2:
        return 0.0
    size = pts.max(0) - pts.min(0)
    return float(size[0] * size[1])


def largest_person(people: np.ndarray) -> int:
    """Index of the person with the biggest keypoint box (ties: the higher summed confidence)."""
    people = check_shape(people)
    areas = np.array([bbox_area(p) for p in people])
    return int(np.lexsort((-people[..., 2].sum(-1), -areas))[0])


def select_person(people: np.ndarray, how: str = "best") -> np.ndarray:
    """Choose one person of ``(P, 18, 3)``: ``best`` = highest summed confidence, ``largest`` = biggest box."""
    people = check_shape(people)
    if people.ndim == 2:
        return people
    if len(people) == 0:
        return empty()
    if how == "best":
        return people[int(np.argmax(people[..., 2].sum(-1)))]
    if how == "largest":
        return people[largest_person(people)]
    raise PosewarpError(f"unknown person selection {how!r}; use 'best' or 'largest'")


def choose_person(people: np.ndarray, person: int | None = None, path: str | os.PathLike | None = None
                  ) -> tuple[np.ndarray, str]:
    """One person of ``(P, 18, 3)`` and a note saying which ("" for a file's only person): number ``person``
    (from 0), else the largest."""
    people = check_shape(people, path)
    if people.ndim == 2:
        people = people[None]
    if len(people) == 0:
        raise PosewarpError("no person in the pose file", path)
    if person is None:
        index, how = largest_person(people), "the largest"
    elif not 0 <= person < len(people):
        raise PosewarpError(f"--person {person}: the file has {len(people)} "
                            f"{'person' if len(people) == 1 else 'people'} (numbered from 0)", path)  # fmt: skip
    else:
        index, how = person, f"--person {person}"
    return people[index], f"person {index} of {len(people)} ({how})" if len(people) > 1 or person is not None else ""


# --- OpenPose JSON ------------------------------------------------------------------------------


def to_openpose_dict(people: np.ndarray) -> dict:
    """An OpenPose v1.3 JSON document for ``(P, 18, 3)`` people (missing points written as 0,0,0)."""
    people = check_shape(people)
    if people.ndim == 2:
        people = people[None]
    out = []
    for person in people:
        person = np.where(visible(person)[:, None], person, 0.0)
        out.append(
            {
                "person_id": [-1],
                "pose_keypoints_2d": [round(float(v), 3) for v in person.reshape(-1)],
                "face_keypoints_2d": [],
                "hand_left_keypoints_2d": [],
                "hand_right_keypoints_2d": [],
                "pose_keypoints_3d": [],
                "face_keypoints_3d": [],
                "hand_left_keypoints_3d": [],
                "hand_right_keypoints_3d": [],
            }
        )
    return {"version": OPENPOSE_JSON_VERSION, "people": out}


def from_openpose_dict(doc: object, path: str | os.PathLike | None = None) -> np.ndarray:
    """``(P, 18, 3)`` float32 from one OpenPose JSON document (v1.0 ``pose_keypoints`` too; BODY_25 is mapped)."""
    if not isinstance(doc, dict) or not isinstance(doc.get("people"), list):
        raise PosewarpError("not an OpenPose JSON document (no 'people' list)", path)
    return _to_poses(pose_json.parse(doc, path), "auto", path).entries[0][1]


def read_openpose_json(path: str | os.PathLike) -> np.ndarray:
    """All people of an OpenPose JSON file as ``(P, 18, 3)``."""
    return from_openpose_dict(_load_json(path), path)


def write_openpose_json(path: str | os.PathLike, people: np.ndarray) -> None:
    """Write ``(P, 18, 3)`` (or one ``(18, 3)``) people as OpenPose JSON v1.3, atomically."""
    atomic.write_text(path, json.dumps(to_openpose_dict(people)))


# --- PATN annotation CSV ------------------------------------------------------------------------

PATN_HEADER = "name:keypoints_y:keypoints_x"
_PATN_SPECIAL = (":", '"', "\n", "\r")


def _patn_name(name: str) -> str:
    """The name field of a PATN row, quoted CSV-style when it holds a colon, quote or line break."""
    if any(c in name for c in _PATN_SPECIAL) or name != name.strip():
        return '"' + name.replace('"', '""') + '"'
    return name


def to_patn_row(name: str, kp: np.ndarray) -> str:
    """``name: [y0, ...]: [x0, ...]`` with integer pixels and -1 for missing points."""
    kp = check_shape(kp)
    present = visible(kp)
    ys = [int(round(float(y))) if v else -1 for y, v in zip(kp[:, 1], present)]
    xs = [int(round(float(x))) if v else -1 for x, v in zip(kp[:, 0], present)]
    return f"{_patn_name(name)}: {ys}: {xs}"


def _patn_fields(row: list[str], line: int | None, path) -> tuple[str, np.ndarray]:
    where = f"line {line}: " if line else ""
    if len(row) < 3:
        raise PosewarpError(f"{where}PATN row needs 'name:keypoints_y:keypoints_x', got {':'.join(row)[:60]!r}", path)
    name = ":".join(row[:-2])  # an unquoted name with colons keeps them
    ys, xs = (jsonfile.loads(field, path) for field in row[-2:])
    if not (isinstance(ys, list) and isinstance(xs, list)) or len(ys) != NUM_KEYPOINTS or len(xs) != NUM_KEYPOINTS:
        raise PosewarpError(f"{where}row {name!r}: expected {NUM_KEYPOINTS} y and x values", path)
    values = number_array([ys, xs], f"{where}row {name!r}", path).astype(np.float32)
    if not np.isfinite(values).all():
        raise PosewarpError(f"{where}row {name!r} has a keypoint value that is NaN or infinite", path)
    kp = empty()
    present = (values[0] != -1) & (values[1] != -1)
    kp[present] = np.stack([values[1][present], values[0][present], np.ones(int(present.sum()), np.float32)], 1)
    return name, kp


def from_patn_row(line: str, path: str | os.PathLike | None = None) -> tuple[str, np.ndarray]:
    """Parse one PATN row into (name, ``(18, 3)``); confidence is 1 for present points."""
    rows = csv_rows(line.strip(), path, ":")
    if len(rows) != 1:
        raise PosewarpError(f"PATN row needs 'name:keypoints_y:keypoints_x', got {line.strip()[:60]!r}", path)
    return _patn_fields(rows[0][1], None, path)


def read_patn_csv(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """A PATN annotation CSV as ``{name: (18, 3)}`` (a regular UTF-8 file; quoted names may hold colons)."""
    rows = csv_rows(read_text(path), path, ":")
    if not rows or "".join(rows[0][1]).replace(" ", "") != PATN_HEADER.replace(":", ""):
        raise PosewarpError(f"expected the PATN header {PATN_HEADER!r}", path)
    return dict(_patn_fields(row, line, path) for line, row in rows[1:] if any(f.strip() for f in row))


def write_patn_csv(path: str | os.PathLike, annotations: dict[str, np.ndarray]) -> None:
    rows = [PATN_HEADER] + [to_patn_row(name, kp) for name, kp in annotations.items()]
    atomic.write_text(path, "\n".join(rows) + "\n")


# --- pairs CSV ----------------------------------------------------------------------------------


def read_pairs_csv(path: str | os.PathLike) -> list[tuple[str, str]]:
    """A PATN pairs file (header ``from,to``) as a list of (source name, target name); CSV quoting is
    understood, so names may hold commas, quotes and line breaks."""
    rows = csv_rows(read_text(path), path)
    if not rows or [c.strip() for c in rows[0][1][:2]] != ["from", "to"]:
        raise PosewarpError("expected a CSV with the header 'from,to'", path)
    pairs = []
    for n, row in rows[1:]:
        if not row:
            continue
        if len(row) < 2:
            raise PosewarpError(f"line {n} has no 'to' column", path)
        pairs.append((row[0].strip(), row[1].strip()))
    return pairs


def write_pairs_csv(path: str | os.PathLike, pairs: list[tuple[str, str]]) -> None:
    """``from,to`` rows, quoted where a name holds a comma, quote or line break."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(("from", "to"))
    writer.writerows(pairs)
    atomic.write_text(path, buf.getvalue())


# --- any pose file ------------------------------------------------------------------------------

POSE_FORMATS = ("auto", "coco18", "body25", "coco17", "coco", "patn")
OUTSIDE_TOLERANCE = 1.0  # px a detector may place a point beyond the border
MAX_COORDINATE = 1e6  # pixels: beyond this a keypoint is a broken file, not a photo


@dataclass
class Poses:
    """What a pose file holds: one entry per image (several: a pose sequence, or a dataset's table)."""

    format: str  # what was read: coco18, body25 or coco17 (point order), coco (MS COCO JSON) or patn (CSV)
    entries: list[tuple[str, np.ndarray]]  # (name, (P, 18, 3)); a single pose is named after the file
    sizes: dict[str, tuple[int, int]] = field(default_factory=dict)  # (H, W) of the images the file records


def _load_json(path: str | os.PathLike) -> object:
    """A JSON pose file within the input limits (``jsonfile``: regular file, size and depth, standard JSON)."""
    return jsonfile.read(path)


def _to_poses(entries: list[pose_json.Entry], fmt: str, path: str | os.PathLike | None) -> Poses:
    """Map every entry's people to COCO-18 by their point count (or the forced ``fmt``)."""
    if fmt == "coco" and any(e.container not in ("coco", "instances") for e in entries):
        raise PosewarpError("--pose-format coco needs an MS COCO annotation file or a list of detections", path)
    forced = "coco17" if fmt == "coco" else fmt if fmt in LAYOUT_SIZES else None
    stem = Path(path).stem if path is not None else "pose"
    poses = Poses("", [])
    layouts = set()
    for i, e in enumerate(entries):
        name = e.name or (stem if len(entries) == 1 else f"{stem}-{i:04d}")
        where = f"{name}: " if len(entries) > 1 or e.container == "coco" else ""
        if not np.isfinite(e.people).all():
            raise PosewarpError(f"{where}a keypoint value is NaN or infinite", path)
        people = np.zeros((0, NUM_KEYPOINTS, 3), np.float32)
        if len(e.people):
            k = e.people.shape[1]
            layout = forced or layout_of(k)
            if layout is None or LAYOUT_SIZES[layout] != k:
                expected = (f"--pose-format {fmt} needs {LAYOUT_SIZES[layout]}" if layout else
                            "expected 18 (OpenPose COCO-18), 25 (BODY_25) or 17 (COCO-17)")  # fmt: skip
                raise PosewarpError(f"{where}{'person 0 has' if len(e.people) == 1 else 'people have'} {k} "
                                    f"keypoints; {expected}", path)  # fmt: skip
            layouts.add(layout)
            people = to_coco18(e.people, layout)
        poses.entries.append((name, people))
        if e.size is not None:
            poses.sizes[name] = e.size
    coco = entries and all(e.container == "coco" for e in entries)
    poses.format = "coco" if coco else "+".join(sorted(layouts)) or forced or "coco18"
    return poses


def outside(kp: np.ndarray, size: tuple[int, int] | None = None, tolerance: float = OUTSIDE_TOLERANCE) -> int | None:
    """Index of the first present point of ``(18, 3)`` that is negative or beyond an ``(H, W)`` image, else None."""
    x, y = kp[:, 0], kp[:, 1]
    bad = visible(kp) & ((x < -tolerance) | (y < -tolerance))
    if size is not None:
        bad |= visible(kp) & ((x > size[1] - 1 + tolerance) | (y > size[0] - 1 + tolerance))
    return int(np.argmax(bad)) if bad.any() else None


def check_values(people: np.ndarray, path: str | os.PathLike | None = None, size: tuple[int, int] | None = None,
                 where: str = "") -> None:
    """One-line errors for NaN or infinite values, points outside the image (``size`` = (H, W) when known)
    and coordinates that look normalised to [0, 1] instead of pixels."""
    people = check_shape(people, path).reshape(-1, NUM_KEYPOINTS, 3)
    for p, person in enumerate(people):
        who = f"{where}person {p}"
        if not np.isfinite(person).all():
            raise PosewarpError(f"{who} has a keypoint value that is NaN or infinite", path)
        if np.abs(person).max(initial=0) > MAX_COORDINATE:
            raise PosewarpError(f"{who} has a keypoint value of {np.abs(person).max():.3g}, beyond any image "
                                f"(at most {MAX_COORDINATE:g} pixels)", path)  # fmt: skip
        i = outside(person, size)
        if i is not None:
            image = f"the {size[0]}x{size[1]} image" if size else "the image"
            raise PosewarpError(f"{who}: {KEYPOINT_NAMES[i]} at ({person[i, 0]:.1f}, {person[i, 1]:.1f}) lies "
                                f"outside {image}", path)  # fmt: skip
        seen = person[visible(person)][:, :2]
        if len(seen) >= 2 and seen.max() <= 1.0:
            raise PosewarpError(f"{who}: every coordinate lies within [0, 1], which looks normalised "
                                "(OpenPose --keypoint_scale); posewarp needs pixel coordinates", path)  # fmt: skip


def read_poses(path: str | os.PathLike, fmt: str = "auto") -> Poses:
    """Every pose of a pose file as COCO-18, checked; ``fmt`` forces a format (see ``POSE_FORMATS``)."""
    if fmt not in POSE_FORMATS:
        raise PosewarpError(f"unknown pose format {fmt!r}; use one of {', '.join(POSE_FORMATS)}")
    path = Path(path)
    if path.is_dir():
        raise PosewarpError("is a folder, not a pose file", path)
    if fmt == "patn" or (fmt == "auto" and path.suffix.lower() == ".csv"):
        poses = Poses("patn", [(name, kp[None]) for name, kp in read_patn_csv(path).items()])
    else:
        poses = _to_poses(pose_json.parse(_load_json(path), path), fmt, path)
    for name, people in poses.entries:
        named = len(poses.entries) > 1 or poses.format == "coco"
        check_values(people, path, poses.sizes.get(name), f"{name}: " if named else "")
    return poses
