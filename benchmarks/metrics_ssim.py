"""SSIM pairs per second: ``posewarp.metrics.ssim`` against scikit-image's ``structural_similarity``
(the call PATN/GFLA make), on the same 256x256 padded DeepFashion-sized pairs, in one run.

Prints CPU-time rates (fairer on a shared machine) and wall rates, the ratio ours / skimage, and
the largest absolute difference between the two (should be ~1e-16).

    python benchmarks/metrics_ssim.py [--pairs 40]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from skimage.metrics import structural_similarity

from posewarp.metrics.ssim import GFLA_WIN51, WANG_GAUSS, pad_width, ssim


def timed(fn) -> tuple[float, float, list[float]]:
    w, c = time.perf_counter(), time.process_time()
    out = fn()
    return time.perf_counter() - w, time.process_time() - c, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pairs", type=int, default=40)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    pairs = []
    for _ in range(args.pairs):
        a = rng.integers(0, 256, (256, 176, 3), dtype=np.uint8)
        b = np.clip(a.astype(int) + rng.integers(-60, 61, a.shape), 0, 255).astype(np.uint8)
        pairs.append((pad_width(b), pad_width(a)))

    def sk_patn():
        return [structural_similarity(r, g, gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
                                      channel_axis=-1, data_range=g.max() - g.min()) for g, r in pairs]  # fmt: skip

    def sk_gfla():
        return [structural_similarity(r[:, 40:-40] / 255.0, g[:, 40:-40] / 255.0, data_range=1, win_size=51,
                                      channel_axis=-1) for g, r in pairs]  # fmt: skip

    cases = [
        ("patn wang-gauss", sk_patn, lambda: [ssim(g, r, WANG_GAUSS) for g, r in pairs]),
        ("gfla win51", sk_gfla, lambda: [ssim(g[:, 40:-40], r[:, 40:-40], GFLA_WIN51) for g, r in pairs]),
    ]
    for name, base, ours in cases:
        bw, bc, bv = timed(base)
        ow, oc, ov = timed(ours)
        diff = float(np.max(np.abs(np.array(bv) - np.array(ov))))
        print(f"{name:16s} skimage {args.pairs / bc:7.1f} pairs/s CPU ({args.pairs / bw:7.1f} wall) | "
              f"ours {args.pairs / oc:7.1f} pairs/s CPU ({args.pairs / ow:7.1f} wall) | "
              f"ratio ours/skimage {bc / oc:5.2f}x CPU | max |diff| {diff:.1e}")  # fmt: skip


if __name__ == "__main__":
    main()
