"""Numbered run directories (stylegan2-ada style): ``<out>/<NNNNN>-stage<k>-<desc>/``.

A run dir holds ``config.json``, ``stats.jsonl`` (one JSON object per log step), ``samples/step-XXXXXX.png``,
``snapshot-XXXXXX.pt`` + ``snapshot-latest.pt`` (for inference), ``matcher-latest.pt`` (stage 2) and
``training-state.pt`` (everything to resume). Only rank 0 writes; every file is replaced atomically.
"""

from __future__ import annotations

import json
import math
import os
import re
from pathlib import Path
from typing import Any

import numpy as np

from posewarp.errors import PosewarpError
from posewarp.formats import atomic, jsonfile
from posewarp.formats.outputs import os_error

_NUMBERED = re.compile(r"^(\d{5,})-")
MAX_DESC = 100  # characters of the description in a run dir name

CONFIG = "config.json"
STATS = "stats.jsonl"
STATE = "training-state.pt"
PHASES = ("matcher", "generator")  # the phases of a run, in the order they run (stage 1 has the generator only)


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._+-]+", "-", text).strip("-")


def create(out: str | os.PathLike, stage: int, desc: str) -> Path:
    """Make the next numbered run dir under ``out`` (numbered after the highest existing one)."""
    out = Path(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
        highest = -1
        for entry in out.iterdir():
            m = _NUMBERED.match(entry.name)
            if m:
                highest = max(highest, int(m.group(1)))
        name = f"{highest + 1:05d}-stage{stage}"
        if desc:
            name += f"-{_slug(desc)[:MAX_DESC]}"
        path = out / name
        path.mkdir()  # fails if a concurrent launch took the same number: better than sharing a dir
        (path / "samples").mkdir()
    except OSError as exc:
        raise os_error(exc, out) from None
    return path


def describe(data_path: str | None, preset: str, batch: int, extra: list[str]) -> str:
    stem = Path(data_path).stem if data_path else "data"
    return "-".join([stem, preset, f"batch{batch}", *extra])


def write_config(run: Path, config: dict[str, Any]) -> None:
    atomic.write_text(run / CONFIG, json.dumps(config, indent=2, sort_keys=False) + "\n")


def read_config(run: str | os.PathLike) -> dict[str, Any]:
    path = Path(run) / CONFIG
    if not path.exists():
        raise PosewarpError("not a run directory (no config.json)", run)
    doc = jsonfile.read(path)
    if not isinstance(doc, dict):
        raise PosewarpError("config.json must hold a JSON object", path)
    return doc


def _plain(value):
    if isinstance(value, (np.floating, np.integer)):
        value = value.item()
    if hasattr(value, "item") and callable(value.item):  # 0-d tensors
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value


def append_stats(run: Path, record: dict[str, Any]) -> None:
    """One JSON object per line; a reader sees whole lines only (each line is written with one write call)."""
    line = json.dumps({k: _plain(v) for k, v in record.items()}) + "\n"
    try:
        with open(run / STATS, "a", encoding="utf-8") as fh:
            fh.write(line)
    except OSError as exc:
        raise os_error(exc, run / STATS) from None


def read_stats(run: str | os.PathLike) -> list[dict[str, Any]]:
    path = Path(run) / STATS
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def truncate_stats(run: Path, phase: str, step: int) -> None:
    """On resume, drop records written after the saved state so the log tells one consistent story."""
    path = run / STATS
    if not path.exists():
        return
    keep = []
    for rec in read_stats(run):
        rp = rec.get("phase", "generator")
        later = (PHASES.index(rp) > PHASES.index(phase)) if rp in PHASES and phase in PHASES else False
        if later or (rp == phase and rec.get("step", 0) > step):
            continue
        keep.append(json.dumps(rec) + "\n")
    atomic.write_text(path, "".join(keep))


def sample_path(run: Path, step: int, phase: str = "generator") -> Path:
    prefix = "matcher-" if phase == "matcher" else ""
    return run / "samples" / f"{prefix}step-{step:06d}.png"


def snapshot_path(run: Path, step: int) -> Path:
    return run / f"snapshot-{step:06d}.pt"
