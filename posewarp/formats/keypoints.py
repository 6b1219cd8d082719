"""OpenPose COCO-18 body keypoints: names, left/right swap, limbs, OpenPose JSON and PATN CSV.

Arrays are ``(18, 3)`` (one person) or ``(P, 18, 3)`` (several) float32 rows of x, y, confidence in
pixels of the image they belong to; a missing point has confidence 0 (written 0,0,0 in OpenPose JSON
and -1,-1 in PATN CSV). "R" is the person's own right (image left for a frontal person).
"""

from __future__ import annotations

import csv
import io
import json
import os

import numpy as np

from posewarp.errors import PosewarpError
from posewarp.formats import atomic, jsonfile
from posewarp.formats.input_file import csv_rows, read_text

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


MAX_COORDINATE = 1e6  # pixels: beyond this a keypoint is a broken file, not a photo


def check_finite(kp: np.ndarray, path: str | os.PathLike | None = None, who: str = "the pose") -> np.ndarray:
    """Refuse NaN, infinite or absurdly large keypoint values (they would be packed or drawn without a word)."""
    kp = np.asarray(kp)
    if not np.isfinite(kp).all():
        raise PosewarpError(f"{who} has non-finite keypoint values (NaN or infinity)", path)
    if kp.size and np.abs(kp).max() > MAX_COORDINATE:
        raise PosewarpError(f"{who} has a keypoint value of {np.abs(kp).max():.3g}, beyond any image "
                            f"(at most {MAX_COORDINATE:g} pixels)", path)  # fmt: skip
    return kp


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


def select_person(people: np.ndarray, how: str = "best") -> np.ndarray:
    """Choose one person of ``(P, 18, 3)``: ``best`` = highest summed confidence, ``largest`` = biggest box."""
    people = check_shape(people)
    if people.ndim == 2:
        return people
    if len(people) == 0:
        return empty()
    if how == "best":
        scores = people[..., 2].sum(-1)
    elif how == "largest":
        scores = np.array([bbox_area(p) for p in people])
    else:
        raise PosewarpError(f"unknown person selection {how!r}; use 'best' or 'largest'")
    return people[int(np.argmax(scores))]


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
    """``(P, 18, 3)`` float32 from an OpenPose JSON document (also the old ``pose_keypoints`` key)."""
    if not isinstance(doc, dict) or not isinstance(doc.get("people"), list):
        raise PosewarpError("not an OpenPose JSON document (no 'people' list)", path)
    people = []
    for i, person in enumerate(doc["people"]):
        flat = person.get("pose_keypoints_2d", person.get("pose_keypoints")) if isinstance(person, dict) else None
        if not isinstance(flat, list) or len(flat) != NUM_KEYPOINTS * 3:
            n = len(flat) // 3 if isinstance(flat, list) else 0
            raise PosewarpError(f"person {i} has {n} keypoints, expected {NUM_KEYPOINTS} (COCO-18)", path)
        try:
            with np.errstate(over="ignore"):  # an overflow becomes inf, refused just below
                values = np.asarray(flat, np.float32).reshape(NUM_KEYPOINTS, 3)
        except (TypeError, ValueError):
            raise PosewarpError(f"person {i} has non-numeric keypoint values", path) from None
        check_finite(values, path, f"person {i}")
        people.append(values)
    if not people:
        return np.zeros((0, NUM_KEYPOINTS, 3), np.float32)
    out = np.stack(people)
    out[~visible(out)] = 0.0
    return out


def read_openpose_json(path: str | os.PathLike) -> np.ndarray:
    """All people of an OpenPose JSON file as ``(P, 18, 3)``."""
    return from_openpose_dict(jsonfile.read(path), path)


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
    kp = check_finite(check_shape(kp), None, repr(name))
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
    try:
        values = np.array([ys, xs], np.float32)
    except (TypeError, ValueError):
        raise PosewarpError(f"{where}row {name!r}: keypoint lists are not lists of numbers", path) from None
    check_finite(values, path, f"{where}row {name!r}")
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
