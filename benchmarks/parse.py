"""Images per second of `posewarp parse` (SCHP LIP parser, 473x473 input) on CPU: unbatched vs batched.

    .venv/bin/python benchmarks/parse.py [--images 8] [--batch 4] [--repeat 2] [--size 256x176] [--device cpu]

The same images (random pixels, --size; a second size mixed in to show that any sizes batch together)
go through ``HumanParser`` one by one (the baseline: SCHP's simple_extractor runs batch size 1) and in
batches, in the same run. Also prints the share of the pre/post-processing (letterbox + inverse affine +
argmax) per image. Seeded random weights stand in for the checkpoint (same architecture, same cost);
``--weights`` uses a real file. Wall and CPU time are both printed: on a shared machine CPU time is fairer.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from posewarp.preprocess import parser as P  # noqa: E402
from posewarp.preprocess.schp_net import SCHPNet  # noqa: E402


def clock(fn, repeat: int) -> tuple[float, float]:
    """Best (wall, cpu) seconds of ``repeat`` runs."""
    best_wall = best_cpu = float("inf")
    for _ in range(repeat):
        w, c = time.perf_counter(), time.process_time()
        fn()
        best_wall = min(best_wall, time.perf_counter() - w)
        best_cpu = min(best_cpu, time.process_time() - c)
    return best_wall, best_cpu


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=8)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--size", default="256x176", help="HxW of the images (half of them transposed)")
    ap.add_argument("--input-size", type=int, default=None, help="network input (default 473)")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--weights", type=Path, default=None)
    ap.add_argument("--flip", action="store_true")
    ap.add_argument("--threads", type=int, default=None)
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    torch.manual_seed(0)
    network = None if args.weights else SCHPNet(num_classes=20)
    parser = P.HumanParser(
        args.weights, device=args.device, flip=args.flip, input_size=args.input_size, network=network
    )
    h, w = (int(v) for v in args.size.lower().split("x"))
    rng = np.random.default_rng(0)
    imgs = [rng.integers(0, 256, (h, w, 3) if i % 2 == 0 else (w, h, 3), dtype=np.uint8) for i in range(args.images)]
    n = len(imgs)
    print(f"device {parser.device}, threads {torch.get_num_threads()}, {n} images {h}x{w}/{w}x{h}, "
          f"input {parser.input_size}, flip {parser.flip}")  # fmt: skip

    parser.batch(imgs[:1])  # warm-up (allocator, oneDNN kernels)
    one = clock(lambda: [parser(img) for img in imgs], args.repeat)
    batched = clock(
        lambda: [parser.batch(imgs[i : i + args.batch]) for i in range(0, n, args.batch)], args.repeat
    )
    for name, (wall, cpu) in [("unbatched (batch 1)", one), (f"batched (batch {args.batch})", batched)]:
        print(f"{name:22s} {n / wall:7.3f} images/s wall   {n / cpu:7.3f} images/s cpu")
    print(f"speed-up batched/unbatched: {one[0] / batched[0]:.2f}x wall, {one[1] / batched[1]:.2f}x cpu")

    # Pre/post-processing alone (no network): letterbox + normalise, inverse affine + argmax.
    size = parser.input_size
    fake = np.random.default_rng(1).normal(size=(size, size, 20)).astype(np.float32)

    def pre_post():
        for img in imgs:
            fwd, inv = P.letterbox_affine(img.shape[0], img.shape[1], size)
            P.normalize(torch.from_numpy(P.letterbox(np.ascontiguousarray(img[:, :, ::-1]), fwd, size)[None]))
            np.argmax(P.unletterbox(fake, inv, img.shape[0], img.shape[1]), axis=2)

    wall, cpu = clock(pre_post, args.repeat)
    print(f"pre/post-processing    {1000 * wall / n:7.1f} ms/image wall ({100 * wall / one[0]:.1f}% of unbatched)")


if __name__ == "__main__":
    main()
