"""Images per second of ``posewarp synth`` on one core, at 128x64 and 256x176.

Times, in the same run: (a) rendering only, (b) the file floor = encoding and atomically writing the
same outputs (PNG, palette PNG, OpenPose JSON) without rendering, (c) ``generate`` end to end.
Prints wall and CPU rates; the issue's targets are >= 200/s at 128x64 and >= 50/s at 256x176 end to end.
CPU time is the fairer number on a shared machine (other processes stretch wall time).

    python benchmarks/synth.py [--images 200]
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import cv2  # noqa: E402
import torch  # noqa: E402

from posewarp.formats import images, keypoints, parsing  # noqa: E402
from posewarp.synth import generate, render  # noqa: E402

TARGETS = {(128, 64): 200.0, (256, 176): 50.0}


def timed(fn, repeats: int) -> tuple[float, float]:
    """Best wall and best CPU seconds of ``repeats`` runs (the least disturbed run on a shared machine)."""
    wall, cpu = [], []
    for _ in range(repeats):
        w, c = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - w)
        cpu.append(time.process_time() - c)
    return min(wall), min(cpu)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=200, help="images per size (identities x 10 poses)")
    ap.add_argument("--repeats", type=int, default=3, help="runs per measurement; the best one counts")
    args = ap.parse_args()
    torch.set_num_threads(1)
    cv2.setNumThreads(1)
    ids = max(1, args.images // 10)
    n = ids * 10
    print(f"{n} images per size, one thread, best of {args.repeats}; rates in images/s (wall | cpu)")
    for size, target in TARGETS.items():
        root = Path(tempfile.mkdtemp(prefix="synth-bench-"))
        try:
            outs = [render(i, k, size=size) for i in range(ids) for k in range(10)]
            w_r, c_r = timed(lambda: [render(i, k, size=size) for i in range(ids) for k in range(10)], args.repeats)

            def write_only() -> None:
                for j, (rgb, labels, kp) in enumerate(outs):
                    images.write_image(root / "floor" / "images" / f"{j}.png", rgb)
                    parsing.write_label_png(root / "floor" / "parsing" / f"{j}.png", labels)
                    keypoints.write_openpose_json(root / "floor" / "keypoints" / f"{j}.json", kp)

            runs = iter(range(args.repeats))

            def world() -> None:  # a fresh folder each time, as a user's run would be
                generate(root / f"world{next(runs)}", identities=ids, poses_per_identity=10, size=size,
                         show_progress=False)  # fmt: skip

            w_f, c_f = timed(write_only, args.repeats)
            w_g, c_g = timed(world, args.repeats)
        finally:
            shutil.rmtree(root, ignore_errors=True)
        h, w = size
        print(f"{h}x{w}:")
        print(f"  render only             {n / w_r:8.1f} | {n / c_r:8.1f}")
        print(f"  files only (floor)      {n / w_f:8.1f} | {n / c_f:8.1f}")
        print(f"  generate (end to end)   {n / w_g:8.1f} | {n / c_g:8.1f}")
        print(f"  end to end / target {target:.0f}/s: wall {n / w_g / target:.2f}x, cpu {n / c_g / target:.2f}x")


if __name__ == "__main__":
    main()
