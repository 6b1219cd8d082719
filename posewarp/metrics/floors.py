"""Floors beside every table: what generating nothing scores on the same pairs.

When the pairs name their sources (a ``from,to`` pairs file, or names read from PATN/Def-GAN/GFLA
files), ``eval`` scores two more rows (``baselines.py`` and ``nn/fill.py`` are the same ideas at
training time):

* ``floor: copy source``: the source image itself, as the generated image;
* ``floor: background only``: the source with its person filled in from the background around it
  (pull-push, ``nn.fill.source_background``). Without parsing at evaluation time the person is the
  source's PG2/PATN pose mask (``pose_mask.py``) grown by ``GROW`` pixels; this row needs ``--keypoints``
  to hold the sources' keypoints too (PATN's annotation CSVs do).

On real DeepFashion pairs the source's background alone already scores about 0.64 SSIM and copying the
source about 0.66 (issue #22's measurements), so an SSIM is only read against these rows.
The floor images are written as ``{from}___{to}.png`` into a temporary folder with a ``from,to`` pairs
file, and scored by ``evaluate`` like any method.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from posewarp.formats.images import to_tensor, to_uint8, write_image
from posewarp.formats.keypoint_sources import KeypointsNotFound, KeypointSource
from posewarp.formats.keypoints import write_pairs_csv
from posewarp.metrics.features import read_metric_image
from posewarp.metrics.pairing import Pair, _index, _strip
from posewarp.metrics.pose_mask import patn_pose_mask
from posewarp.nn.fill import source_background

COPY = "floor: copy source"
BACKGROUND = "floor: background only"
GROW = 6  # pixels the pose mask is grown by to cover the clothes around the limbs


def background_only(image: np.ndarray, keypoints: np.ndarray) -> np.ndarray:
    """``image`` with its person (pose mask grown by ``GROW`` px) filled from the background around it."""
    person = torch.from_numpy(patn_pose_mask(keypoints, image.shape[:2]).astype(np.float32))[None, None]
    person = F.max_pool2d(person, 2 * GROW + 1, stride=1, padding=GROW)
    return to_uint8(source_background(to_tensor(image.copy())[None], person)[0])


def write_floors(pairs: list[Pair], gt_dir, out: Path, keypoints=None, pose_format: str = "auto",
                 person: int | None = None) -> tuple[dict[str, tuple[Path, Path]], str | None]:  # fmt: skip
    """``({row name: (folder, pairs file)}, note)``; no rows (and a note saying why) when a pair has no
    source or its source image is not in ``gt_dir``."""
    gt_dir = Path(gt_dir)
    if any(p.source is None for p in pairs):
        return {}, None
    gts = _index(gt_dir, "ground-truth")
    sources = {p.source: gts.get(_strip(p.source)) for p in pairs}
    absent = [s for s, path in sources.items() if path is None]
    if absent:
        return {}, f"floors not scored: {len(absent)} source images (e.g. {absent[0]!r}) are not in {gt_dir}"
    source_kp, note = None, None
    if keypoints is not None:
        kp = KeypointSource(keypoints, pose_format, person)
        try:
            source_kp = {s: kp(path.relative_to(gt_dir).as_posix()) for s, path in sources.items()}
        except KeypointsNotFound as exc:
            note = f"floor 'background only' not scored: {exc.message}"
    else:
        note = "floor 'background only' needs the sources' keypoints: pass --keypoints"
    rows = {COPY: out / "copy"} | ({BACKGROUND: out / "background"} if source_kp is not None else {})
    listed = []
    for pair in pairs:
        name = f"{_strip(pair.source)}___{_strip(pair.name)}.png"
        image = read_metric_image(sources[pair.source])
        write_image(rows[COPY] / name, image)
        if source_kp is not None:
            write_image(rows[BACKGROUND] / name, background_only(image, source_kp[pair.source]))
        listed.append((pair.source, pair.name))
    write_pairs_csv(out / "pairs.csv", listed)
    return {row: (folder, out / "pairs.csv") for row, folder in rows.items()}, note
