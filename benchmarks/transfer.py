"""Transfer speed: warm latency of one image (the per-image pipeline) versus batch mode, in one run.

Baseline: ``TransferPipeline.__call__`` on one source and one target pose at a time (what
``posewarp transfer SRC --pose ...`` does per pose, after the networks are loaded). Ours: batch mode
(``pipeline.run`` on batches of pairs, what ``posewarp transfer --data`` does). Prints milliseconds per
image, images per second and the ratio. Default networks: the shipped demo weights (tiny preset, 128x64);
``--stage1/--stage2`` take any runs, ``--size`` another input size (e.g. 256x176) with freshly built
``deepfashion-256x176`` networks when no runs are given.

    python benchmarks/transfer.py [--images 64] [--batch 16] [--device cpu] [--size 256x176]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from posewarp.formats import images
from posewarp.inference import TransferPipeline
from posewarp.synth import render


def preset_pipeline(size, device):
    from posewarp import models
    from posewarp.config import preset

    cfg = preset("deepfashion-256x176", 2)
    cfg1 = preset("deepfashion-256x176", 1)
    matcher = models.build_matcher(cfg) if models.uses_matcher(cfg.model) else None
    return TransferPipeline(stage1=models.build_parser(cfg1), generator=models.build_generator(cfg), matcher=matcher,
                            model=cfg.model, size=size, device=torch.device(device))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=64)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--stage1")
    ap.add_argument("--stage2")
    ap.add_argument("--size", help="HxW; with no runs given, builds deepfashion-256x176 networks at this size")
    ap.add_argument("--threads", type=int, default=0, help="torch intra-op threads (0: torch's default)")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    size = tuple(int(v) for v in args.size.split("x")) if args.size else None
    if size and not (args.stage1 or args.stage2):
        pipe = preset_pipeline(size, args.device)
    else:
        pipe = TransferPipeline.load(args.stage1, args.stage2, device=args.device, size=size)
    h, w = pipe.size
    people = [render(i % 8, i % 5, size=(h, w), seed=1) for i in range(args.images)]
    targets = [render(i % 8, (i + 2) % 5, size=(h, w), seed=1)[2] for i in range(args.images)]

    def sync():
        if pipe.device.type == "cuda":
            torch.cuda.synchronize()

    rgb0, labels0, kp0 = people[0]
    pipe(rgb0, kp0, labels0, targets[0])  # warm-up
    sync()
    t = time.perf_counter()
    for (rgb, labels, kp), tgt in zip(people, targets):
        pipe(rgb, kp, labels, tgt)
    sync()
    single = (time.perf_counter() - t) / args.images

    batch = {
        "src_image": images.to_tensor(np.stack([p[0] for p in people])),
        "src_labels": torch.as_tensor(np.stack([p[1] for p in people]).astype(np.int64)),
        "src_keypoints": torch.as_tensor(np.stack([p[2] for p in people])),
        "tgt_keypoints": torch.as_tensor(np.stack(targets)),
    }

    def part(i):
        return {k: v[i : i + args.batch] for k, v in batch.items()}

    pipe.run(part(0))
    sync()
    t = time.perf_counter()
    for i in range(0, args.images, args.batch):
        pipe.run(part(i))
    sync()
    batched = (time.perf_counter() - t) / args.images

    name = torch.cuda.get_device_name(pipe.device) if pipe.device.type == "cuda" else f"cpu x{torch.get_num_threads()} threads"
    print(f"transfer at {h}x{w} on {name}, {args.images} images")
    print(f"  one at a time (warm): {single * 1000:8.1f} ms/image  {1 / single:8.1f} images/s")
    print(f"  batch mode (batch {args.batch}): {batched * 1000:8.1f} ms/image  {1 / batched:8.1f} images/s")
    print(f"  ratio batch / single: {single / batched:.2f}x")


if __name__ == "__main__":
    main()
