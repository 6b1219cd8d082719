"""The range of every training config option, in one place, checked before a run dir is created.

``check(config_dict)`` returns one ``option NAME must be ...`` line per value out of its range; the type of
each value is already checked when the config is built (``config._check_type``). Every option of
``TrainConfig`` has an entry here (a test keeps it so), so a value from a config file, the CLI or an
untrusted snapshot reaches PyTorch, numpy or the file system only once it is sane: no zero-channel layer,
no negative worker count, no seed numpy refuses, no 10^5-channel network from a 1 KB snapshot.

A leaf under ``config``: it imports only the preset table (``posewarp.presets``); the choices of the options that
offer a few (``AMP_MODES``, ``GRID_KINDS``) live here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from posewarp.presets import PRESETS

AMP_MODES = ("auto", "bf16", "fp16", "off")  # auto: bf16 where the GPU supports it, else fp16
GRID_KINDS = ("matcher", "parts", "matcher+parts")  # Stage II transformation grids (model.grids)
BIG = 10**9  # steps and intervals: any real run is far below


@dataclass(frozen=True)
class Int:
    lo: int
    hi: int

    def problem(self, v) -> str | None:
        return None if self.lo <= v <= self.hi else f"an integer from {self.lo} to {self.hi}"


@dataclass(frozen=True)
class Real:
    lo: float
    hi: float
    lo_open: bool = False
    hi_open: bool = False

    def problem(self, v) -> str | None:
        above = v > self.lo if self.lo_open else v >= self.lo
        below = v < self.hi if self.hi_open else v <= self.hi
        if math.isfinite(v) and above and below:
            return None
        return f"a number in {'(' if self.lo_open else '['}{self.lo:g}, {self.hi:g}{')' if self.hi_open else ']'}"


@dataclass(frozen=True)
class Choice:
    options: tuple[str, ...]

    def problem(self, v) -> str | None:
        return None if v in self.options else f"one of {', '.join(self.options)}"


@dataclass(frozen=True)
class Text:
    most: int  # characters

    def problem(self, v) -> str | None:
        if len(v) > self.most:
            return f"at most {self.most} characters long"
        return "free of NUL bytes" if "\x00" in v else None


@dataclass(frozen=True)
class Size:
    """``[height, width]`` in pixels."""

    hi: int

    def problem(self, v) -> str | None:
        return None if all(1 <= x <= self.hi for x in v) else f"[height, width] with each from 1 to {self.hi}"


class Free:
    """Booleans: the type check is the whole check."""

    def problem(self, v) -> str | None:
        return None


FLAG = Free()
PATH = Text(4096)
STEPS = Int(1, BIG)
WEIGHT = Real(0.0, 1e6)  # a loss weight
LR = Real(0.0, 10.0)
CHANNELS = Int(1, 1024)

RANGES: dict[str, Any] = {
    "stage": Int(1, 2),
    "preset": Choice(tuple(PRESETS)),
    "desc": Text(100),
    "seed": Int(0, 2**32 - 1),
    "max_steps": STEPS,
    "amp": Choice(AMP_MODES),
    "log_every": STEPS,
    "sample_every": STEPS,
    "val_every": STEPS,
    "val_batches": Int(0, BIG),
    "snapshot_every": STEPS,
    "stage1": PATH,
    "stage1_share": Real(0.0, 1.0),
    "vgg_path": PATH,
    "data.path": PATH,
    "data.batch_size": Int(1, 65536),
    "data.workers": Int(0, 256),
    "data.flip": FLAG,
    "data.pose_radius": Real(0.0, 64.0, lo_open=True),
    "data.image_size": Size(1 << 14),
    "model.ngf": CHANNELS,
    "model.n_downsample": Int(0, 8),
    "model.n_blocks": Int(0, 64),
    "model.ndf": CHANNELS,
    "model.d_layers": Int(1, 8),
    "model.gate": FLAG,
    "model.warp": FLAG,
    "model.extra_block": FLAG,
    "model.part_prior": FLAG,
    "model.parser_skips": FLAG,
    "model.composite": FLAG,
    "model.refine": FLAG,
    "model.warp_levels": Choice(("bottleneck", "all")),
    "model.gate_mode": Choice(("spatial", "channel")),
    "model.grids": Choice(GRID_KINDS),
    "model.region_style": FLAG,
    "model.upsample": Choice(("transposed", "resize")),
    "model.matcher_features": Choice(("small", "vgg16")),
    "model.matcher_width": CHANNELS,
    "model.matcher_feature_size": Int(1, 256),
    "model.vgg": Choice(("pretrained", "random", "world")),
    "loss.ce": WEIGHT,
    "loss.adv": WEIGHT,
    "loss.feat": WEIGHT,
    "loss.vgg": WEIGHT,
    "loss.l1": WEIGHT,
    "loss.ssim": WEIGHT,
    "loss.matcher_grid": WEIGHT,
    "loss.matcher_align": WEIGHT,
    "optim.lr": LR,
    "optim.beta1": Real(0.0, 1.0, hi_open=True),
    "optim.beta2": Real(0.0, 1.0, hi_open=True),
    "optim.decay_start": Real(0.0, 1.0),
    "matcher.steps": Int(0, BIG),
    "matcher.lr": LR,
    "matcher.path": PATH,
    "matcher.finetune": FLAG,
}


def flatten(doc: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in doc.items():
        if isinstance(value, dict):
            out.update(flatten(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def check(doc: dict[str, Any]) -> list[str]:
    """``option NAME must be ..., got VALUE`` for every value of a config dict outside its range."""
    problems = []
    for name, value in flatten(doc).items():
        rule = RANGES.get(name)
        if rule is None or value is None:
            continue
        wanted = rule.problem(value)
        if wanted:
            shown = value if not isinstance(value, str) or len(value) < 40 else value[:37] + "..."
            problems.append(f"option {name} must be {wanted}, got {shown!r}")
    return problems
