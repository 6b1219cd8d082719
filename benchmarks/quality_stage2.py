"""Stage II ablation in miniature: full model vs ``--no-gate`` vs ``--no-warp`` vs copying the source image.

Renders a ``posewarp synth`` world at 128x64, packs it, trains the geometric matcher once (the matcher
phase of the full model; the ``--no-gate`` run reuses it, ``--no-warp`` needs none), then trains each
generator variant for the same number of steps with the same seed and data order on the CPU, and scores
SSIM (PATN's Gaussian variant, as ``posewarp eval``) and L1 on the held-out identities (the whole test
split). The paper's claim, reproduced in miniature: full > no-warp > copy (in SSIM). Also prints step times.

    python benchmarks/quality_stage2.py [--identities 40] [--poses 6] [--steps 600] [--matcher-steps 300]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import torch  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from quality_stage1 import make_world  # noqa: E402

from posewarp.data import PairDataset  # noqa: E402
from posewarp.training import resolve, train  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--identities", type=int, default=40)
    ap.add_argument("--poses", type=int, default=6)
    ap.add_argument("--steps", type=int, default=600, help="generator steps of every variant")
    ap.add_argument("--matcher-steps", type=int, default=300)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--keep", type=Path, default=None, help="keep the world and the runs here")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    root = args.keep or Path(tempfile.mkdtemp(prefix="posewarp-q2-"))
    root.mkdir(parents=True, exist_ok=True)
    data = root / "world.h5"
    if not data.exists():
        data = make_world(root, args.identities, args.poses, args.seed)
    train_pairs, test_pairs = len(PairDataset(data, "train")), len(PairDataset(data, "test"))
    base = {
        "data.path": str(data), "max_steps": args.steps, "seed": args.seed, "val_batches": 0,
        "val_every": args.steps, "sample_every": args.steps, "snapshot_every": args.steps,
        "matcher.steps": args.matcher_steps,
    }  # fmt: skip
    results = {}

    def run(name: str, extra: dict) -> None:
        cfg = resolve(2, "tiny", overrides={**base, **extra})
        wall, cpu = time.perf_counter(), time.process_time()
        res = train(cfg, out=root / "runs", device="cpu", show_progress=False)
        results[name] = (res, time.perf_counter() - wall, time.process_time() - cpu)

    run("(a) full", {})
    matcher = Path(results["(a) full"][0].run_dir) / "matcher-latest.pt"
    run("(b) --no-gate", {"model.gate": False, "matcher.path": str(matcher)})
    run("(c) --no-warp", {"model.warp": False})

    copy = results["(a) full"][0].validation
    print(f"world: {args.identities} identities x {args.poses} poses at 128x64, {train_pairs} training pairs, "
          f"{test_pairs} held-out pairs; tiny preset, matcher {args.matcher_steps} steps, generator {args.steps} "
          f"steps of batch {resolve(2, 'tiny').data.batch_size} each, {args.threads} thread(s)")
    print(f"{'':18s}{'SSIM':>8s}{'L1':>8s}{'s/step':>9s}")
    for name, (res, wall, cpu) in results.items():
        v = res.validation
        print(f"{name:18s}{v['ssim']:8.4f}{v['l1']:8.4f}{res.sec_per_step:9.3f}")
    print(f"{'(d) copy source':18s}{copy['copy_ssim']:8.4f}{copy['copy_l1']:8.4f}{'':>9s}")
    ssim = {k: r[0].validation["ssim"] for k, r in results.items()}
    a, c, d = ssim["(a) full"], ssim["(c) --no-warp"], copy["copy_ssim"]
    print(f"paper's ordering (a) > (c) > (d) in SSIM: {'reproduced' if a > c > d else 'NOT reproduced'} "
          f"({a:.4f} / {c:.4f} / {d:.4f})")
    print("s/step = wall seconds per generator step in the loop (CPU); runs: " + ", ".join(
        r[0].run_dir for r in results.values()))


if __name__ == "__main__":
    main()
