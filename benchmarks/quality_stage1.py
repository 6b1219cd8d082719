"""Stage I quality in miniature: the ``tiny`` preset on a synthetic 128x64 world, against copying the source parsing.

Renders a ``posewarp synth`` world, packs it, trains Stage I for a fixed number of steps on the CPU and
scores the predicted target parsing on the held-out identities (the whole test split): mIoU and pixel
accuracy, next to the "copy the source parsing" baseline measured on the same pairs in the same run.
The issue's aim: at least 15 mIoU points above the baseline. Also prints the step time (wall and CPU).

    python benchmarks/quality_stage1.py [--identities 40] [--poses 6] [--steps 600] [--keep DIR]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import torch  # noqa: E402

from posewarp.data import PairDataset, pack  # noqa: E402
from posewarp.synth import generate  # noqa: E402
from posewarp.training import resolve, train  # noqa: E402


def make_world(root: Path, identities: int, poses: int, seed: int) -> Path:
    world = root / "world"
    generate(world, identities=identities, poses_per_identity=poses, size=(128, 64), seed=seed, test_fraction=0.2,
             show_progress=False)
    out = root / "world.h5"
    pack(world / "images", world / "keypoints", world / "parsing",
         [world / "pairs-train.csv", world / "pairs-test.csv"], out, show_progress=False)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--identities", type=int, default=40)
    ap.add_argument("--poses", type=int, default=6)
    ap.add_argument("--steps", type=int, default=600, help="training steps (the tiny preset's budget)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--keep", type=Path, default=None, help="keep the world and the run here")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    root = args.keep or Path(tempfile.mkdtemp(prefix="posewarp-q1-"))
    root.mkdir(parents=True, exist_ok=True)
    data = make_world(root, args.identities, args.poses, args.seed)
    train_pairs, test_pairs = len(PairDataset(data, "train")), len(PairDataset(data, "test"))
    cfg = resolve(1, "tiny", overrides={
        "data.path": str(data), "max_steps": args.steps, "seed": args.seed, "val_batches": 0,
        "val_every": args.steps, "sample_every": args.steps, "snapshot_every": args.steps,
    })  # fmt: skip
    wall, cpu = time.perf_counter(), time.process_time()
    res = train(cfg, out=root / "runs", device="cpu", show_progress=False)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    v = res.validation
    gain = 100 * (v["miou"] - v["copy_miou"])
    print(f"world: {args.identities} identities x {args.poses} poses at 128x64, {train_pairs} training pairs, "
          f"{test_pairs} held-out pairs; tiny preset, {args.steps} steps of batch {cfg.data.batch_size}, "
          f"{args.threads} thread(s)")
    print(f"{'':28s}{'mIoU':>8s}{'pixel acc':>11s}")
    print(f"{'Stage I (predicted)':28s}{100 * v['miou']:8.1f}{100 * v['pixel_acc']:11.1f}")
    print(f"{'copy the source parsing':28s}{100 * v['copy_miou']:8.1f}{100 * v['copy_pixel_acc']:11.1f}")
    print(f"gain: {gain:+.1f} mIoU points (aim >= +15): {'met' if gain >= 15 else 'NOT met'}")
    print(f"step time on CPU: {res.sec_per_step:.3f} s wall per step in the loop; whole run {wall:.0f} s wall, "
          f"{cpu / args.steps:.3f} s CPU per step")
    print(f"run dir: {res.run_dir}")


if __name__ == "__main__":
    main()
