"""The names ``posewarp eval`` offers, without importing torch (the CLI's help and checks read them from here)."""

from __future__ import annotations

from collections.abc import Iterable

from posewarp.errors import PosewarpError

METRICS = ("ssim", "mask-ssim", "is", "mask-is", "fid", "lpips", "pckh")
DEFAULT_METRICS = ("ssim", "is", "fid", "lpips")
EVAL_PROTOCOLS = ("patn", "patn-modern", "gfla", "gfla-modern")  # protocols.PROTOCOLS holds what each one means
DEFAULT_PROTOCOL = "patn"
DEFAULT_BATCH_SIZE = 32  # image pairs per step
PRED_LAYOUTS = ("auto", "picture", "patn-strip", "defgan-strip", "gfla")  # layouts.LAYOUTS holds what each means
DEFAULT_PRED_LAYOUT = "auto"
DEFAULT_FLOORS = True  # score "copy source" and "background only" rows when the pairs name their sources


def parse_metrics(metrics: str | Iterable[str]) -> tuple[str, ...]:
    names = [m.strip().lower() for m in (metrics.split(",") if isinstance(metrics, str) else metrics)]
    names = [m for m in names if m]
    unknown = [m for m in names if m not in METRICS]
    if unknown or not names:
        raise PosewarpError(f"unknown metric(s) {', '.join(unknown) or '(none)'}; choose from {', '.join(METRICS)}")
    return tuple(dict.fromkeys(names))
