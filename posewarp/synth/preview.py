"""A contact sheet of the synthetic world: per pose, image | skeleton | parsing colours.

The pictures in ``examples/synth/`` are made with it, e.g.::

    python -c "from posewarp.synth.preview import write_preview; write_preview('sheet.png', [3, 4, 8], 3)"
"""

from __future__ import annotations

import os

import numpy as np

from posewarp.formats import draw, images
from posewarp.synth.person import render

PANELS = ("image", "keypoints", "parsing")


def preview(
    identities: list[int],
    poses: int = 2,
    *,
    size: tuple[int, int] = (256, 176),
    seed: int = 0,
    panels: tuple[str, ...] = PANELS,
) -> np.ndarray:
    """One row per identity; per pose the chosen panels (image, skeleton over the image, parsing)."""
    unknown = set(panels) - set(PANELS)
    if unknown:
        raise ValueError(f"unknown panels {sorted(unknown)}; use {PANELS}")
    rows = []
    for i in identities:
        row = []
        for k in range(poses):
            rgb, labels, kp = render(i, k, size=size, seed=seed)
            pictures = {"image": rgb, "keypoints": draw.skeleton(rgb, kp), "parsing": draw.parsing_picture(labels)}
            row += [pictures[p] for p in panels]
        rows.append(row)
    return draw.grid(rows, titles=list(panels) * poses)


def write_preview(path: str | os.PathLike, identities: list[int] | None = None, poses: int = 2, **kwargs) -> None:
    images.write_image(path, preview(identities or [0, 1, 2], poses, **kwargs))
