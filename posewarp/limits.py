"""Bounds on every input before it is decoded, so that one hostile file cannot hang or exhaust a run.

* images: at most ``image_pixels`` pixels and a long/short side ratio of at most ``image_aspect``, checked
  on the header before any pixel is decoded (a PNG claiming 30000x30000, a 1x20000 strip);
* any input read into memory whole (image, CSV, weights list ...): at most ``file_bytes``;
* JSON (keypoints, pose sequences, configs): at most ``json_bytes`` and ``json_depth`` levels of nesting.

Each limit can be raised (or lowered) with an environment variable, which also reaches DataLoader workers
and library calls, or with the root CLI option of the same name (``posewarp --max-image-pixels 4e8 ...``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from posewarp.errors import PosewarpError


@dataclass(frozen=True)
class Limit:
    env: str  # environment variable
    option: str  # root CLI option
    default: float
    minimum: float
    help: str

    def value(self) -> float:
        text = os.environ.get(self.env)
        if text is None or not text.strip():
            return self.default
        try:
            value = float(text)
        except ValueError:
            raise PosewarpError(f"{self.env}={text!r} is not a number") from None
        if not value >= self.minimum:
            raise PosewarpError(f"{self.env}={text!r} must be at least {self.minimum:g}")
        return value


MAX_SIDE = 1 << 14  # pixels a side of an image size posewarp stores or is asked for (a pack's image_size, --size)

LIMITS = {
    "image_pixels": Limit("POSEWARP_MAX_IMAGE_PIXELS", "--max-image-pixels", 100e6, 1, "pixels (width x height) of an input image"),
    "image_aspect": Limit("POSEWARP_MAX_IMAGE_ASPECT", "--max-image-aspect", 20.0, 1, "long side / short side of an input image"),
    "file_bytes": Limit("POSEWARP_MAX_FILE_BYTES", "--max-file-bytes", float(1 << 30), 1, "bytes of an input file read whole"),
    "json_bytes": Limit("POSEWARP_MAX_JSON_BYTES", "--max-json-bytes", float(64 << 20), 1, "bytes of a JSON input"),
    "json_depth": Limit("POSEWARP_MAX_JSON_DEPTH", "--max-json-depth", 32, 1, "nesting levels of a JSON input"),
}  # fmt: skip


def get(name: str) -> float:
    return LIMITS[name].value()


def hint(name: str) -> str:
    """How to change a limit, for error messages."""
    limit = LIMITS[name]
    return f"posewarp {limit.option} or {limit.env} raises it"


def set_limit(name: str, value: float) -> None:
    """Change a limit for this process and the processes it starts (what the root CLI options do)."""
    limit = LIMITS[name]
    if not value >= limit.minimum:
        raise PosewarpError(f"{limit.option} must be at least {limit.minimum:g}, got {value:g}")
    os.environ[limit.env] = repr(float(value))
