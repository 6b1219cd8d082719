"""How peers published their generated test sets: which panel of each file is the generated image, and
how the file name names the pair (``eval --pred-layout``).

* ``picture``: the generated image alone, paired by name or by ``--pairs``.
* ``patn-strip``: PATN's ``{from}___{to}_vis.png``, five panels of equal width (source | source pose |
  target | target pose | generated); the generated one is columns ``4w:5w`` with ``w = width // 5``
  (PATN ``tool/getMetrics_market.py``, ``load_generated_images``).
* ``defgan-strip``: Def-GAN's ``{from}_{to}.png`` (names keep their ``.jpg``), three panels (source |
  target | generated); the generated one is columns ``2w:`` with ``w = width // 3``, and the names are
  split at the first ``.jpg_`` (pose-gan ``compute_scores.py``, ``load_generated_images`` and its regex).
* ``gfla``: GFLA's ``{from}_2_{to}_vis.png``, the picture alone; the target is the name after the last
  ``_2_`` up to ``_vis``, plus ``.jpg`` (GFLA ``script/metrics.py``, ``preprocess_path_for_deform_task``).

``auto`` reads the first generated file's width against its ground truth's: 5 times is a PATN strip,
3 times a Def-GAN strip, the same width a picture (``gfla`` when the names follow GFLA's pattern).
VUNet's published strips are not offered: no source for their panel order was checked.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from posewarp.errors import PosewarpError


@dataclass(frozen=True)
class Layout:
    name: str
    panels: int  # panels side by side, each as wide as the ground truth
    generated: int  # index of the generated panel
    to_end: bool  # the generated panel runs to the right edge (Def-GAN's img[:, 2*w:])
    pattern: str | None  # regex on the file name without extension: groups "src" and "tgt"
    tgt_suffix: str  # appended to the parsed target name (GFLA's names drop ".jpg")
    source: str  # the script that defines the layout

    def names(self, stem: str) -> tuple[str, str] | None:
        """``(source, target)`` names read from a generated file's name, or None when it does not match."""
        if self.pattern is None:
            return None
        m = re.match(self.pattern, stem)
        return (m["src"], m["tgt"] + self.tgt_suffix) if m else None

    def crop(self, image: np.ndarray, path=None) -> np.ndarray:
        """The generated panel of one published file."""
        if self.panels == 1:
            return image
        w = image.shape[1] // self.panels
        if w < 1:
            raise PosewarpError(f"image is {image.shape[1]} px wide, too narrow for a {self.name} of "
                                f"{self.panels} panels", path)  # fmt: skip
        end = image.shape[1] if self.to_end else (self.generated + 1) * w
        return image[:, self.generated * w : end]


LAYOUTS = {
    layout.name: layout
    for layout in (
        Layout("picture", 1, 0, False, None, "", "posewarp (the generated image alone)"),
        Layout("patn-strip", 5, 4, False, r"^(?P<src>.+)___(?P<tgt>.+)_vis$", "",
               "PATN tool/getMetrics_market.py load_generated_images"),
        Layout("defgan-strip", 3, 2, True, r"^(?P<src>.+?\.jpg)_(?P<tgt>.+\.jpg)$", "",
               "pose-gan compute_scores.py load_generated_images"),
        Layout("gfla", 1, 0, False, r"^(?P<src>.*)_2_(?P<tgt>.*?)_vis", ".jpg",
               "GFLA script/metrics.py preprocess_path_for_deform_task"),
    )
}  # fmt: skip
BY_RATIO = {5: "patn-strip", 3: "defgan-strip"}


def get(name: str) -> Layout:
    try:
        return LAYOUTS[name]
    except KeyError:
        raise PosewarpError(f"unknown layout {name!r}; choose one of: auto, {', '.join(LAYOUTS)}") from None


def detect(pred_stem: str, pred_width: int, gt_width: int, path=None) -> Layout:
    """The layout of a generated file ``pred_width`` wide whose ground truth is ``gt_width`` wide."""
    if pred_width == gt_width:
        return LAYOUTS["gfla"] if LAYOUTS["gfla"].names(pred_stem) else LAYOUTS["picture"]
    for ratio, name in BY_RATIO.items():
        if pred_width // ratio == gt_width:
            return LAYOUTS[name]
    raise PosewarpError(f"generated file is {pred_width} px wide and its ground truth {gt_width} px: not a picture "
                        "(same width), a Def-GAN strip (3 panels) or a PATN strip (5 panels); "
                        "pass --pred-layout", path)  # fmt: skip
