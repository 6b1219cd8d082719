"""``posewarp info``: what a packed file holds (schema, splits, size, labels, keypoints) and a preview grid."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from posewarp.data import schema
from posewarp.data.dataset import PairDataset, splits
from posewarp.errors import PosewarpError
from posewarp.formats import clashes, draw, outputs
from posewarp.formats.images import check_output_name, write_image
from posewarp.formats.keypoints import KEYPOINT_NAMES, visible

PREVIEW_PAIRS = 4  # rows of a preview grid


def describe(path: str | os.PathLike, locking: bool | None = None) -> dict:
    """A JSON-ready summary of a packed file; reads only attributes, keypoints and names."""
    path = Path(path)
    with schema.open_file(path, locking) as f:
        try:
            return _describe(f, path)
        except (OSError, UnicodeDecodeError) as exc:
            raise schema.damaged("the keypoints, names or attributes", path, exc) from None


def _describe(f, path: Path) -> dict:
    a = f.attrs
    kp = f["keypoints"][:]
    n = len(kp)
    present = visible(kp) if n else np.zeros((0, len(KEYPOINT_NAMES)), bool)
    pixels = np.asarray(f["parsing"].attrs["label_pixels"], np.int64)
    with_label = np.asarray(f["parsing"].attrs["label_images"], np.int64)
    names = schema.json_attr(a, "label_names", [])
    total = max(int(pixels.sum()), 1)
    return {
        "path": str(path),
        "format": schema.text(a["format"]),
        "schema_version": int(a["schema_version"]),
        "posewarp_version": schema.text(a["posewarp_version"]),
        "created": schema.text(a["created"]),
        "image_size": list(schema.image_size(a)),
        "image_encoding": schema.text(a["image_encoding"]),
        "num_images": int(a["num_images"]),
        "file_bytes": path.stat().st_size,
        "splits": {s: int(len(f["pairs"][s])) for s in sorted(f["pairs"].keys())},
        "dropped_pairs": {s: int(f["pairs"][s].attrs.get("dropped", 0)) for s in sorted(f["pairs"].keys())},
        "label_set": schema.text(a["label_set"]),
        "keypoint_format": schema.text(a["keypoint_format"]),
        "labels": [
            {
                "id": i,
                "name": name,
                "pixel_fraction": round(float(pixels[i]) / total, 6),
                "image_fraction": round(float(with_label[i]) / max(n, 1), 4),
            }
            for i, name in enumerate(names)
        ],
        "missing_keypoints": {
            name: round(float(1 - present[:, i].mean()) if n else 0.0, 4) for i, name in enumerate(KEYPOINT_NAMES)
        },
        "images_without_keypoints": int((~present.any(1)).sum()) if n else 0,
        "excluded": [{"name": schema.text(x), "reason": schema.text(r)} for x, r in f["excluded"][:]],
        "creation_args": schema.json_attr(a, "creation_args", {}),
    }


def preview(
    path: str | os.PathLike,
    out: str | os.PathLike,
    *,
    split: str | None = None,
    num_pairs: int | None = None,
    locking: bool | None = None,
) -> Path:
    """Write a grid with one row per pair (``num_pairs`` spread over the split): image | skeleton | parsing
    of the source, then of the target (``num_pairs`` None: ``PREVIEW_PAIRS``)."""
    outputs.check_file(out)
    check_output_name(out, "--preview")
    places = clashes.Places()
    places.read(path, "the pack DATA", option=True)
    places.write(out, "--preview", option=True)
    num_pairs = num_pairs or PREVIEW_PAIRS
    available = splits(path, locking)
    split = split or (available[0] if available else None)
    if split not in available:
        raise PosewarpError(f"no split {split!r} to preview; this file has {', '.join(available) or 'none'}", path)
    dataset = PairDataset(path, split, locking=locking)
    try:
        everything = dataset.pairs
        pairs = everything[np.unique(np.linspace(0, len(everything) - 1, num_pairs).round().astype(int))]
        if len(pairs) == 0:
            raise PosewarpError(f"split {split!r} has no pairs to preview", path)
        rows = []
        for pair in pairs:
            row = []
            for i in (int(v) for v in pair):
                img, labels, kp = dataset.row(i)
                row += [img, draw.skeleton(img, kp), draw.parsing_picture(labels)]
            rows.append(row)
    finally:
        dataset.close()
    titles = ["source", "pose", "parsing", "target", "pose", "parsing"]
    picture = draw.grid(rows, titles)
    write_image(out, picture)
    return Path(out)
