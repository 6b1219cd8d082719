"""Option parsers shared by several commands."""

from __future__ import annotations

import re

import typer


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
    return h, w
