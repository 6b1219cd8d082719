"""Shared by benchmarks/keypoints.py and benchmarks/parse.py: end-to-end timing of a reference against posewarp.

* Images: synthetic people (``posewarp.synth.render``: a person on a textured background) written as PNG files
  at 128x64, 256x176 and 512x512 (lossless, so that both readers see the same pixels); a 16-megapixel photo made
  by upscaling a 1000x1000 render for the memory check.
* Timing: process CPU time (all threads) and wall time per image, every side run on every image in turn within
  one process (interleaved, so that load from other processes hits all sides alike); min and median per side.
* Peak RSS: one image through one side in a fresh process (``--child``), ``ru_maxrss`` at its end.
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

SIZES = ((128, 64), (256, 176), (512, 512))
BIG = (4000, 4000)


def render_rgb(size: tuple[int, int], index: int, seed: int = 3) -> np.ndarray:
    """A synthetic person picture of ``size`` (the 16-megapixel one upscaled from 1000x1000)."""
    from posewarp.synth import render

    if size == BIG:
        small = render(index, index, size=(1000, 1000), seed=seed)[0]
        return cv2.resize(small, BIG[::-1], interpolation=cv2.INTER_CUBIC)
    return render(index, index, size=size, seed=seed)[0]


def write_images(folder: Path, size: tuple[int, int], count: int) -> list[Path]:
    from posewarp.formats import images

    paths = []
    for i in range(count):
        path = folder / f"{size[0]}x{size[1]}-{i}.png"
        images.write_image(path, render_rgb(size, i))
        paths.append(path)
    return paths


def set_threads(n: int) -> None:
    import torch

    torch.set_num_threads(n)
    cv2.setNumThreads(n)


def interleaved(sides: dict[str, Callable[[Path], object]], paths: list[Path], repeat: int) -> dict[str, dict]:
    """Per side: CPU and wall seconds of every call, all sides on each image in turn; one warm-up call each."""
    for fn in sides.values():
        fn(paths[0])
    times = {name: {"cpu": [], "wall": []} for name in sides}
    for _ in range(repeat):
        for path in paths:
            for name, fn in sides.items():
                c, w = time.process_time(), time.perf_counter()
                fn(path)
                times[name]["cpu"].append(time.process_time() - c)
                times[name]["wall"].append(time.perf_counter() - w)
    return times


def min_median(values: list[float]) -> tuple[float, float]:
    return min(values), statistics.median(values)


def machine() -> str:
    import torch

    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    return (f"{os.cpu_count()} CPUs ({torch.backends.cpu.get_cpu_capability()}), load average {load}, "
            f"torch {torch.__version__}")  # fmt: skip


def peak_rss_mb() -> float:
    """This process's peak resident memory: ``VmHWM`` (``ru_maxrss`` would include the parent's at the fork)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child_report(seconds: float, **extra) -> None:
    """What a ``--child`` run prints: peak RSS and time of its one image."""
    print(json.dumps({"rss_mb": round(peak_rss_mb()), "seconds": round(seconds, 2), **extra}))


def run_child(script: Path, *args: str) -> dict:
    """Run ``script --child ...`` in a fresh process with one thread; its JSON line, or the error."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, str(script), "--child", *args], capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        return {"error": (proc.stderr.strip().splitlines() or ["failed"])[-1]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


HEADER = "reference min median | posewarp min median | ratio of medians (of mins)"


def ratio_line(ref: list[float], ours: list[float], short: bool = False) -> str:
    (rmin, rmed), (omin, omed) = min_median(ref), min_median(ours)
    if short:
        return f"x{rmed / omed:.2f}"
    return f"{rmin:9.3f} {rmed:6.3f} | {omin:8.3f} {omed:6.3f} | x{rmed / omed:5.2f} (x{rmin / omin:.2f})"


def np_close(a: np.ndarray, b: np.ndarray, atol: float) -> bool:
    return a.shape == b.shape and bool(np.all(np.abs(a - b) <= atol))


def print_memory(script: Path, weights: Path, paths: dict, folder: Path) -> None:
    """Peak RSS of each side on one picture of each size, and of posewarp on the 16-megapixel photo."""
    print("\npeak RSS, one image in a fresh process, 1 thread (MB; CPU s including start-up and loading)")
    for size, files in paths.items():
        cells = []
        for side in ("reference", "posewarp"):
            r = run_child(script, side, str(weights), str(files[0]))
            cells.append(f"{side} {r['rss_mb']} MB, {r['seconds']} s" if "rss_mb" in r else f"{side} {r['error']}")
        print(f"{size[0]:>4}x{size[1]:<4} | " + " | ".join(cells))
    big = write_images(folder, BIG, 1)[0]
    print(f"posewarp on a {BIG[0]}x{BIG[1]} photo: {run_child(script, 'posewarp', str(weights), str(big))}")
