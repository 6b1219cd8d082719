"""Which generated image is scored against which ground truth, and the target keypoints of each.

Accepted layouts (the README's ``posewarp eval`` section repeats this):

* same names: ``pred/x.png`` is compared with ``gt/x.jpg`` (relative path without the extension);
* ``--pairs FILE`` with header ``from,to`` (a PATN pairs file): the generated image for a pair is
  named ``{from}___{to}`` or PATN's ``{from}___{to}_vis`` (any image extension, the names inside
  may keep or drop their own extension), the ground truth is ``to``;
* ``--pairs FILE`` with header ``pred,gt``: explicit file names relative to the two folders;
* a published layout (``layouts.py``: PATN, Def-GAN, GFLA): without ``--pairs`` the generated files
  name their pairs (``{from}___{to}_vis``, ``{from}_{to}``, ``{from}_2_{to}_vis``).

No silent subsets: a ground truth (same names) or a listed pair without its generated image is an
error naming it, since a generation run that stopped halfway would otherwise be scored as complete;
with ``allow_missing`` those are left out and counted (``Matching.missing``), and the count is
printed with the scores.

Target keypoints come from a folder of pose files (``{stem}_keypoints.json`` or ``{stem}.json`` beside
the ground-truth name) or one keypoints file keyed by file name (PATN CSV, MS COCO JSON): any format
``keypoints.read_poses`` reads (``formats/keypoint_sources.py``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from posewarp.errors import PosewarpError, few
from posewarp.formats.images import IMAGE_EXTENSIONS, list_images
from posewarp.formats.input_file import csv_rows, read_text
from posewarp.formats.keypoint_sources import KeypointsNotFound, KeypointSource
from posewarp.metrics.layouts import LAYOUTS, Layout, detect
from posewarp.metrics.layouts import get as get_layout

@dataclass(frozen=True)
class Pair:
    pred: Path
    gt: Path
    name: str  # ground-truth path relative to its folder (posix)
    source: str | None = None  # the pair's source image name where the pairs say it (PATN ``from``)


def pair_key(pair: Pair) -> str:
    """What identifies a pair across methods: its source (where known) and its ground truth."""
    return f"{_strip(pair.source)} -> {pair.name}" if pair.source is not None else pair.name


@dataclass(frozen=True)
class Matching:
    """The pairs to score and the names of what had no generated image (empty unless ``allow_missing``)."""

    pairs: list[Pair]
    missing: list[str]
    expected: int  # ground truths (same names) or listed pairs: what a complete run would score
    layout: Layout  # how each generated file holds its image (``layouts.py``)
    detected: bool = False  # the layout was read from the files (``--pred-layout auto``)
    note: str | None = None


def _strip(name: str) -> str:
    p = Path(name)
    return p.with_suffix("").as_posix() if p.suffix.lower() in IMAGE_EXTENSIONS else p.as_posix()


def _index(folder: Path, what: str) -> dict[str, Path]:
    files = list_images(folder)
    if not files:
        raise PosewarpError(f"no images in the {what} folder", folder)
    index: dict[str, Path] = {}
    for f in files:
        key = _strip(f.relative_to(folder).as_posix())
        if key in index:
            raise PosewarpError(f"two {what} images share the name {key!r} ({index[key].name}, {f.name})", folder)
        index[key] = f
    return index


def _read_pairs(path: Path) -> tuple[str, list[tuple[str, str]]]:
    rows = [(n, r) for n, r in csv_rows(read_text(path), path) if r and any(c.strip() for c in r)]
    header = [c.strip() for c in rows[0][1][:2]] if rows else []
    if header not in (["from", "to"], ["pred", "gt"]):
        raise PosewarpError("expected a CSV with the header 'from,to' (PATN pairs) or 'pred,gt'", path)
    for n, row in rows[1:]:
        if len(row) < 2:
            raise PosewarpError(f"line {n} has fewer than two columns", path)
        if "\x00" in row[0] + row[1]:
            raise PosewarpError(f"line {n}: a name contains a NUL byte", path)
    return header[0], [(r[0].strip(), r[1].strip()) for _, r in rows[1:]]


def _missing(what: str, names: list[str], expected: int, where: Path, path) -> PosewarpError:
    return PosewarpError(f"{len(names)} of {expected} {what} have no generated image in {where}: {few(names)}; "
                         "an incomplete generation run would be scored as complete (pass --allow-missing to score "
                         "only the pairs that exist, counted as missing)", path)  # fmt: skip


def _by_file_names(preds: dict[str, Path], gts: dict[str, Path], gt_dir: Path, layout: Layout, pred_dir: Path):
    """Pairs named by the generated files themselves (``{from}___{to}_vis``, ``{from}_{to}``, ...)."""
    out, no_gt = [], []
    for key, pred in preds.items():
        names = layout.names(Path(key).name)
        if names is None:
            raise PosewarpError(f"the name does not follow the {layout.name} pattern ({layout.source})", pred)
        gt = gts.get(_strip(names[1]))
        if gt is None:
            no_gt.append(names[1])
        else:
            out.append(Pair(pred, gt, gt.relative_to(gt_dir).as_posix(), names[0]))
    if no_gt:
        raise PosewarpError(f"{len(no_gt)} targets named by the generated files are not in {gt_dir}: {few(no_gt)}",
                            pred_dir)  # fmt: skip
    return out


def _candidates(kind: str, a: str, b: str) -> list[str]:
    """The names a pair's generated image may have: PATN's, Def-GAN's and GFLA's conventions, or ``pred``."""
    if kind == "pred":
        return [_strip(a)]
    out = [f"{x}___{y}{tail}" for tail in ("", "_vis") for x, y in ((a, b), (_strip(a), _strip(b)))]
    return out + [f"{a}_{b}", f"{_strip(Path(a).name)}_2_{_strip(Path(b).name)}_vis"]


def _naming(layout: Layout | None, preds: dict[str, Path]) -> Layout | None:
    """The layout whose name pattern pairs the files (None: same names or ``--pairs``)."""
    if layout is not None:
        return layout if layout.pattern else None
    first = Path(next(iter(preds))).name
    return next((lay for lay in LAYOUTS.values() if lay.pattern and lay.names(first)), None)


def match_pairs(pred_dir, gt_dir, pairs: str | os.PathLike | None = None, *, allow_missing: bool = False,
                layout: str = "picture") -> Matching:  # fmt: skip
    """The (generated, ground truth) pairs to score, in a stable order; bad input raises ``PosewarpError``.

    Every ground truth (or every listed pair) must have its generated image unless ``allow_missing``.
    ``layout``: a name of ``layouts.LAYOUTS`` or ``"auto"`` (read from the first pair's widths)."""
    pred_dir, gt_dir = Path(pred_dir), Path(gt_dir)
    preds, gts = _index(pred_dir, "generated"), _index(gt_dir, "ground-truth")
    fixed = None if layout == "auto" else get_layout(layout)
    naming = _naming(fixed, preds) if pairs is None else None
    note = None
    if naming is not None:
        found, missing, expected = _by_file_names(preds, gts, gt_dir, naming, pred_dir), [], len(preds)
        note = (f"pairs named by the generated files ({naming.name}): pass --pairs to check that none is missing")
    elif pairs is None:
        found, missing, expected = _same_names(preds, gts, pred_dir, gt_dir, allow_missing)
    else:
        found, missing, expected = _listed(Path(pairs), preds, gts, pred_dir, gt_dir, allow_missing)
    if fixed is not None:
        return Matching(found, missing, expected, fixed, False, note)
    first = found[0]
    detected = detect(Path(first.pred.name).stem, _width(first.pred), _width(first.gt), first.pred)
    return Matching(found, missing, expected, detected, True, note)


def _width(path: Path) -> int:
    from posewarp.formats.images import open_checked
    from posewarp.formats.input_file import read_bytes

    with open_checked(read_bytes(path), path) as img:
        return img.size[0]


def _same_names(preds, gts, pred_dir: Path, gt_dir: Path, allow_missing: bool):
    extra = [k for k in preds if k not in gts]
    if extra:
        raise PosewarpError(
            f"{len(extra)} of {len(preds)} generated images have no ground truth of the same name in {gt_dir}: "
            f"{few(extra)}; pass --pairs FILE to map names",
            pred_dir,
        )
    missing = [gts[k].relative_to(gt_dir).as_posix() for k in gts if k not in preds]
    if missing and not allow_missing:
        raise _missing("ground-truth images", missing, len(gts), pred_dir, gt_dir)
    return [Pair(preds[k], gts[k], gts[k].relative_to(gt_dir).as_posix()) for k in preds], missing, len(gts)


def _listed(pairs: Path, preds, gts, pred_dir: Path, gt_dir: Path, allow_missing: bool):
    kind, rows = _read_pairs(pairs)
    out, no_pred, no_gt = [], [], []
    for a, b in rows:
        candidates = _candidates(kind, a, b)
        pred = next((preds[c] for c in candidates if c in preds), None)
        gt = gts.get(_strip(b))
        if gt is None:
            no_gt.append(b)
        elif pred is None:
            no_pred.append(candidates[0])
        else:
            out.append(Pair(pred, gt, gt.relative_to(gt_dir).as_posix(), a if kind == "from" else None))
    if no_gt:
        raise PosewarpError(f"{len(no_gt)} ground-truth images named in the pairs file are not in {gt_dir}: "
                            f"{few(no_gt)}", pairs)  # fmt: skip
    if no_pred and not allow_missing:
        raise _missing("pairs", no_pred, len(rows), pred_dir, pairs)
    if not out:
        raise PosewarpError("no pair of the pairs file has its generated image" if rows else
                            "the pairs file lists no pairs", pairs)  # fmt: skip
    return out, no_pred, len(rows)


def target_keypoints(source: str | os.PathLike, pairs: list[Pair], pose_format: str = "auto",
                     person: int | None = None) -> tuple[np.ndarray, str | None]:
    """``(N, 18, 3)`` keypoints of each pair's ground truth, and a note on person choices (or None)."""
    keypoints = KeypointSource(source, pose_format, person)
    out, missing = [], []
    for pair in pairs:
        try:
            out.append(keypoints(pair.name))
        except KeypointsNotFound:
            missing.append(Path(pair.name).name)
    if missing:
        raise PosewarpError(f"no keypoints for {len(missing)} ground-truth images: {few(missing)}", source)
    return np.stack(out).astype(np.float32), keypoints.note()
