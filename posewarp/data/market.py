"""Market-1501 for pose transfer (``posewarp prepare market``), as PATN and GFLA prepared it.

The official release (``Market-1501-v15.09.15/``) keeps its 128x64 person crops in ``bounding_box_train/`` and
``bounding_box_test/`` (PATN's and GFLA's instructions rename them ``train/`` and ``test/``; both are found).
The published list files (``--lists``, default the root) are ``market-pairs-{train,test}.csv`` and
``market-annotation-{train,test}.csv``; a split's images are those of its annotation CSV. Both protocols use
the images as they are (128x64, PATN's and GFLA's loaders alike), so they are copied byte for byte.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np

from posewarp.data.prepare import (
    DEFAULT_PREPARE_PROTOCOL,
    PREPARE_PROTOCOLS,
    SPLITS,
    Plan,
    PrepareReport,
    check_sources,
    find_file,
    keep_inside,
    read_split,
    run,
)
from posewarp.errors import PosewarpError
from posewarp.formats.keypoints import OUTSIDE_TOLERANCE, visible
from posewarp.formats import atomic

SIZE = (128, 64)
FOLDERS = {"train": ("bounding_box_train", "train"), "test": ("bounding_box_test", "test")}


def _copy(source: Path, dest: Path) -> None:
    from posewarp.formats.images import read_image

    rgb = read_image(source)  # a corrupt file fails here, not in training
    if rgb.shape[:2] != SIZE:
        raise PosewarpError(f"is {rgb.shape[1]}x{rgb.shape[0]}; Market-1501 crops are 64x128", source)
    with atomic.atomic_path(dest) as tmp:
        shutil.copyfile(source, tmp)


def check_frame(keypoints: dict, path: Path) -> None:
    """The list file's keypoints are in the crops' 64x128 pixels: a file whose points mostly lie beyond them (another
    dataset's, or a resized copy) would shift every point, so it is refused rather than cropped to the image."""
    points = [kp[visible(kp)] for kp in keypoints.values()]
    points = np.concatenate(points) if points else np.zeros((0, 3), np.float32)
    if len(points) == 0:
        return
    (h, w), tol = SIZE, OUTSIDE_TOLERANCE
    beyond = (points[:, 0] > w - 1 + tol) | (points[:, 1] > h - 1 + tol)
    if beyond.mean() > 0.5:
        raise PosewarpError(f"{int(beyond.sum())} of {len(points)} keypoints lie beyond the {w}x{h} crops (x up to "
                            f"{points[:, 0].max():.0f}, y up to {points[:, 1].max():.0f}): not in Market-1501's "
                            "frame", path)  # fmt: skip


def plan(root: str | os.PathLike, *, lists: str | os.PathLike | None = None,
         protocol: str = DEFAULT_PREPARE_PROTOCOL) -> Plan:
    """Read and check the folders and the list files; nothing is written."""
    if protocol not in PREPARE_PROTOCOLS:
        raise PosewarpError(f"unknown protocol {protocol!r}; use one of {', '.join(PREPARE_PROTOCOLS)}")
    root = Path(root)
    if not root.is_dir():
        raise PosewarpError("not a folder (the Market-1501 root, with bounding_box_train/ and bounding_box_test/)",
                            root)  # fmt: skip
    lists = Path(lists) if lists is not None else root
    splits, listed, inputs, unlisted = {}, {}, {}, 0
    for split in SPLITS:
        folder = next((root / f for f in FOLDERS[split] if (root / f).is_dir()), None)
        if folder is None:
            raise PosewarpError(f"no {FOLDERS[split][0]}/ folder (or {FOLDERS[split][1]}/): Market-1501's {split} "
                                "crops", root)  # fmt: skip
        pairs = find_file(lists, (f"market-pairs-{split}.csv",), f"PATN's {split} pairs")
        ann = find_file(lists, (f"market-annotation-{split}.csv",), f"PATN's {split} keypoints")
        splits[split] = s = read_split(pairs, ann, None)
        check_frame(s.keypoints, ann)
        present = {p.name for p in folder.glob("*.jpg")}
        listed.update({n: folder / n if n in present else None for n in s.names})
        unlisted += len(present - set(s.names))
        inputs.update({f"{split} images": str(folder), f"{split} pairs": str(pairs), f"{split} keypoints": str(ann)})
    sources = check_sources(listed, splits, root)
    return Plan("market", protocol, SIZE, sources, splits, convert=_copy, keypoints=lambda kp: keep_inside(kp, SIZE),
                inputs=inputs, unlisted=unlisted, folders={"ROOT": root, "--lists": lists})  # fmt: skip


def prepare_market(root: str | os.PathLike, out: str | os.PathLike, *, lists: str | os.PathLike | None = None,
                   protocol: str = DEFAULT_PREPARE_PROTOCOL, overwrite: bool = False, workers: int | None = None,
                   show_progress: bool = True) -> PrepareReport:
    """Market-1501 + PATN's list files -> ``out`` ready for ``posewarp pack`` (see ``data/prepare.py``)."""
    return run(plan(root, lists=lists, protocol=protocol), out, overwrite=overwrite, workers=workers,
               show_progress=show_progress)  # fmt: skip
