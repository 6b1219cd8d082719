"""What several commands share: the options every batch command has, declared once, and option parsers.

Choices come from the library (torch-free modules), never re-spelled here."""

from __future__ import annotations

import re
from typing import Annotated

import typer

from posewarp.limits import MAX_SIDE


def parse_size(value: str | None, param_hint: str = "--size") -> tuple[int, int] | None:
    """``"128x64"`` -> (128, 64) (height x width); None stays None."""
    if value is None:
        return None
    m = re.fullmatch(r"\s*(\d+)\s*[xX]\s*(\d+)\s*", value)
    if not m:
        raise typer.BadParameter(f"expected HxW such as 256x176 or 128x64, got {value!r}", param_hint=param_hint)
    h, w = int(m.group(1)), int(m.group(2))
    if h < 1 or w < 1:
        raise typer.BadParameter(f"height and width must be positive, got {h}x{w}", param_hint=param_hint)
    if max(h, w) > MAX_SIDE:
        raise typer.BadParameter(f"at most {MAX_SIDE} pixels a side, got {h}x{w}", param_hint=param_hint)
    return h, w


def parse_scales(text: str | None, example: str = "0.5,1,1.5,2") -> tuple[float, ...] | None:
    """``"0.5,1,1.5"`` -> (0.5, 1.0, 1.5); None stays None."""
    if text is None:
        return None
    try:
        scales = tuple(float(s) for s in text.split(",") if s.strip())
    except ValueError:
        raise typer.BadParameter(f"expected comma-separated numbers, got {text!r}", param_hint="--scales") from None
    if not scales or any(not (0 < s < 10) for s in scales):
        raise typer.BadParameter(f"scales must be positive numbers below 10, e.g. {example}", param_hint="--scales")
    return scales


def check_device(device: str | None) -> str | None:
    """Refuse a ``--device`` that is not auto, cpu or cuda[:N] as a usage error (exit 2)."""
    if device is not None and not (device in ("auto", "cpu") or device.startswith("cuda")):
        raise typer.BadParameter("use auto, cpu or cuda[:N]", param_hint="--device")
    return device


def choice(value: str | None, choices, param_hint: str) -> str | None:
    """A usage error (exit 2) naming the choices when ``value`` is not one of them; None passes."""
    if value is not None and value not in choices:
        raise typer.BadParameter(f"use one of {', '.join(choices)}", param_hint=param_hint)
    return value


def parse_shard_option(shard: str | None) -> tuple[int, int] | None:
    """``--shard i/n`` as a usage error when malformed."""
    from posewarp.errors import PosewarpError
    from posewarp.preprocess.batch import parse_shard

    try:
        return parse_shard(shard)
    except PosewarpError as exc:
        raise typer.BadParameter(exc.message, param_hint="--shard") from None


def check_pose_format(value: str | None) -> str:
    """``--pose-format`` as a usage error when unknown (choices from ``keypoints.POSE_FORMATS``); None = auto."""
    from posewarp.formats.keypoints import POSE_FORMATS

    return choice(value, POSE_FORMATS, "--pose-format") or "auto"


POSE_FORMAT_HELP = ("Pose file format: coco18 (OpenPose COCO), body25 (OpenPose BODY_25), coco17 (COCO order: "
                    "mmpose, YOLO-pose), coco (MS COCO JSON), patn (CSV); default: detected.")  # fmt: skip
PERSON_HELP = "Which person of a pose file with several (numbered from 0; default: the largest by keypoint box)."


# Options every batch command declares the same way (``device: Device = None``).
Device = Annotated[str | None, typer.Option("--device", callback=check_device,
                                            help="auto, cpu, cuda or cuda:N (default auto: the GPU when there is one).")]
Threads = Annotated[int | None, typer.Option(
    "--threads", min=1, max=256, help="CPU threads (default: OMP_NUM_THREADS, else the cores not busy).")]
Json = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout (progress goes to stderr).")]
Overwrite = Annotated[bool, typer.Option("--overwrite", help="Redo and replace what an earlier run wrote "
                                         "(default: keep it, and skip or refuse).")]
Shard = Annotated[str | None, typer.Option("--shard", help="i/n: process only every n-th item starting at i.")]
