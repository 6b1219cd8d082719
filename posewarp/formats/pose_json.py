"""The JSON shapes people's pose files come in, read into raw ``(P, K, 3)`` arrays (no layout applied yet).

* OpenPose ``--write_json`` documents: ``{"people": [{"pose_keypoints_2d": [x0, y0, c0, ...]}]}`` (v1.1-1.3;
  v1.0 writes ``pose_keypoints``), any number of points per person (18 COCO, 25 BODY_25, 17 from converters).
  A JSON list of such documents is a sequence.
* MS COCO annotation files: ``{"images": [{"id", "file_name", "width", "height"}], "annotations":
  [{"image_id", "keypoints": [x, y, v] * 17, "iscrowd"}]}``; ``v`` 0 = not labelled, 1 = labelled but hidden,
  2 = visible (cocodataset.org/#format-data). One entry per image, named by ``file_name``.
* Detector outputs, one object per person: COCO results (``{"image_id", "keypoints": [x, y, score] * 17}``),
  mmpose (``{"keypoints": [[x, y], ...], "keypoint_scores": [...]}``) and Ultralytics YOLO-pose ``to_json()``
  (``{"keypoints": {"x": [...], "y": [...], "visible": [...]}}``). Every point carries a score, so a point
  scored below ``MIN_SCORE`` (0.3, the keypoint threshold mmpose's demos draw with) counts as missing.
* Plain arrays: ``[x0, y0, c0, ...]``, ``[[x, y, c], ...]``, or a list of either (a sequence).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from posewarp.errors import PosewarpError
from posewarp.formats.numbers import check_id, check_size, number_array

MIN_SCORE = 0.3


@dataclass
class Entry:
    """The people of one image: ``people`` is ``(P, K, 3)``; ``name`` None means "the file itself"."""

    name: str | None
    people: np.ndarray
    size: tuple[int, int] | None = None  # (H, W) when the file records it
    container: str = "openpose"


def _array(values: object, what: str, path) -> np.ndarray:
    arr = number_array(values, what, path)
    if arr.ndim == 1 and arr.size % 3 == 0:
        return arr.reshape(-1, 3)
    if arr.ndim == 2 and arr.shape[1] in (2, 3):
        return arr if arr.shape[1] == 3 else np.concatenate([arr, np.ones((len(arr), 1))], 1)
    raise PosewarpError(f"{what}: keypoints must be [x0, y0, c0, ...] or [[x, y, c], ...]", path)


def _stack(people: list[np.ndarray], what: str, path) -> np.ndarray:
    if not people:
        return np.zeros((0, 0, 3))
    counts = sorted({len(p) for p in people})
    if len(counts) > 1:
        raise PosewarpError(f"{what}: people have different numbers of keypoints ({counts})", path)
    return np.stack(people)


def _openpose(doc: dict, path) -> Entry:
    if not isinstance(doc.get("people"), list):
        raise PosewarpError("not an OpenPose JSON document (no 'people' list)", path)
    people = []
    for i, person in enumerate(doc["people"]):
        flat = person.get("pose_keypoints_2d", person.get("pose_keypoints")) if isinstance(person, dict) else None
        if not isinstance(flat, list):
            raise PosewarpError(f"person {i} has no 'pose_keypoints_2d' list", path)
        people.append(_array(flat, f"person {i}", path))
    return Entry(None, _stack(people, "the file", path))


def _instance_points(inst: dict, i: int, path) -> np.ndarray:
    kp = inst["keypoints"]
    if isinstance(kp, dict):  # Ultralytics: {"x": [...], "y": [...], "visible": [...]}
        cols = [kp.get("x"), kp.get("y"), kp.get("visible", [1.0] * len(kp.get("x") or []))]
        if not all(isinstance(c, list) for c in cols) or len({len(c) for c in cols}) != 1:
            raise PosewarpError(f"person {i}: keypoints need equally long 'x', 'y' and 'visible' lists", path)
        return _array(list(zip(*cols)), f"person {i}", path)
    points = _array(kp, f"person {i}", path)
    scores = inst.get("keypoint_scores")
    if scores is not None:  # mmpose: [[x, y], ...] plus a score per point
        scores = number_array(scores, f"person {i}'s keypoint scores", path).ravel()
        if len(scores) != len(points):
            raise PosewarpError(f"person {i}: {len(points)} keypoints but {len(scores)} scores", path)
        points = np.concatenate([points[:, :2], scores[:, None]], 1)
    return points


def _instances(items: list, path) -> list[Entry]:
    """Detector output: one object per person, grouped by ``image_id`` when there is one."""
    groups: dict[object, list[np.ndarray]] = {}
    for i, inst in enumerate(items):
        points = _instance_points(inst, i, path)
        points[points[:, 2] < MIN_SCORE] = 0.0
        image = inst.get("image_id")
        groups.setdefault(None if image is None else check_id(image, f"person {i}: image_id", path), []).append(points)
    named = len(groups) > 1
    return [Entry(str(k) if named else None, _stack(v, f"image {k}", path), container="instances")
            for k, v in groups.items()]  # fmt: skip


def _coco_annotations(doc: dict, path) -> list[Entry]:
    images, annotations = doc.get("images"), doc.get("annotations")
    if not isinstance(images, list) or not isinstance(annotations, list):
        raise PosewarpError("not an MS COCO annotation file (needs 'images' and 'annotations' lists)", path)
    by_id: dict[object, tuple[str, tuple[int, int] | None]] = {}
    for n, img in enumerate(images):
        if not isinstance(img, dict) or "id" not in img or not isinstance(img.get("file_name"), str):
            raise PosewarpError("every entry of 'images' needs an 'id' and a 'file_name'", path)
        ident, name = check_id(img["id"], f"images[{n}]: id", path), img["file_name"]
        if not name or "\x00" in name:
            raise PosewarpError(f"images[{n}]: file_name {name!r} is empty or holds a NUL byte", path)
        h, w = img.get("height"), img.get("width")
        size = None
        if h is not None or w is not None:
            size = (check_size(h, f"images[{n}] ({name}): height", path),
                    check_size(w, f"images[{n}] ({name}): width", path))  # fmt: skip
        if ident in by_id:
            raise PosewarpError(f"images[{n}]: id {ident!r} is given to two images", path)
        by_id[ident] = (name, size)
    people: dict[object, list[np.ndarray]] = {k: [] for k in by_id}
    for n, ann in enumerate(annotations):
        if not isinstance(ann, dict) or ann.get("iscrowd") or not isinstance(ann.get("keypoints"), list):
            continue
        if check_id(ann.get("image_id"), f"annotation {n}: image_id", path) not in by_id:
            raise PosewarpError(f"annotation {n} names image_id {ann.get('image_id')!r}, which 'images' lacks", path)
        points = _array(ann["keypoints"], f"annotation {n}", path)
        points[:, 2] = np.where(points[:, 2] > 0, 1.0, 0.0)  # v = 1 (hidden) or 2 (visible): labelled
        if points[:, 2].any():
            people[ann["image_id"]].append(points)
    return [Entry(name, _stack(people[k], name, path), size, "coco") for k, (name, size) in by_id.items()]


def parse(doc: object, path: str | os.PathLike | None = None) -> list[Entry]:
    """The entries (images) of a pose JSON document, each with its raw ``(P, K, 3)`` people."""
    if isinstance(doc, dict):
        if "annotations" in doc or "images" in doc:
            return _coco_annotations(doc, path)
        if isinstance(doc.get("keypoints"), (list, dict)):
            return _instances([doc], path)
        return [_openpose(doc, path)]
    if not isinstance(doc, list):
        raise PosewarpError("not a pose JSON document (expected an object or a list)", path)
    if doc and all(isinstance(d, dict) and "keypoints" in d for d in doc):
        return _instances(doc, path)
    if doc and (all(_number(v) for v in doc) or all(_row(v) for v in doc)):
        return [Entry(None, _array(doc, "the pose", path)[None], container="array")]
    entries = []  # a sequence: OpenPose documents or arrays, one pose each
    for i, item in enumerate(doc):
        if isinstance(item, dict):
            entries.append(_openpose(item, path))
        elif isinstance(item, list):
            entries.append(Entry(None, _array(item, f"pose {i}", path)[None], container="array"))
        else:
            raise PosewarpError(f"pose {i} is neither an OpenPose document nor a list of keypoints", path)
    return entries


def _number(v: object) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _row(v: object) -> bool:
    return isinstance(v, list) and len(v) in (2, 3) and all(_number(x) for x in v)
