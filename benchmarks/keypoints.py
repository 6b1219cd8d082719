"""Speed of `posewarp keypoints` at 256x176, one scale (0.5), on CPU: network vs decoding, batching.

    .venv/bin/python benchmarks/keypoints.py [--repeat 5] [--batch 8] [--threads N]

Prints per image: network time (batch 1), upsampling of the maps to image size, decoding (peaks, PAF
scoring, grouping) on realistic planted maps (two people) and on a random network's maps, and batched
network throughput. Baselines measured in the same run: decoding the way the reference port does it
(smoothing every full map, a Python loop over every candidate pair with 10 samples) and batch size 1.
Random seeded weights stand in for body_pose_model.pth (same architecture, same cost).
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch
from scipy.ndimage import gaussian_filter

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from posewarp.formats.keypoints import LIMBS  # noqa: E402
from posewarp.preprocess import keypoints as KP  # noqa: E402
from posewarp.preprocess import openpose_decode as D  # noqa: E402
from posewarp.preprocess.openpose_net import BodyPoseNet  # noqa: E402

H, W = 256, 176


CLOCK = time.perf_counter


def timed(fn, repeat):
    """Median seconds of ``repeat`` calls on CLOCK (wall, or process CPU time with --cpu-time)."""
    times = []
    for _ in range(repeat):
        t = CLOCK()
        fn()
        times.append(CLOCK() - t)
    return statistics.median(times)


def reference_decode(heat, paf, height):
    """The port's decoding strategy: full-map smoothing, a Python loop per candidate pair."""
    peaks, counter = [], 0
    for part in range(18):
        ori = heat[:, :, part]
        one = gaussian_filter(ori, sigma=3)
        up, down, left, right = (np.zeros_like(one) for _ in range(4))
        up[1:], down[:-1], left[:, 1:], right[:, :-1] = one[:-1], one[1:], one[:, :-1], one[:, 1:]
        ys, xs = np.nonzero((one >= up) & (one >= down) & (one >= left) & (one >= right) & (one > 0.1))
        peaks.append([(x, y, ori[y, x], counter + i) for i, (y, x) in enumerate(zip(ys, xs))])
        counter += len(ys)
    connections = []
    for k, (a, b) in enumerate(LIMBS):
        ca, cb, ch = peaks[a], peaks[b], D.PAF_CHANNELS[k]
        if not ca or not cb:
            connections.append(None)
            continue
        cands = []
        for i in range(len(ca)):
            for j in range(len(cb)):
                vec = np.subtract(cb[j][:2], ca[i][:2])
                norm = max(0.001, math.sqrt(vec[0] * vec[0] + vec[1] * vec[1]))
                vec = vec / norm
                xs = np.linspace(ca[i][0], cb[j][0], 10)
                ys = np.linspace(ca[i][1], cb[j][1], 10)
                mid = np.array(
                    [paf[int(round(y)), int(round(x)), ch] * vec[0] + paf[int(round(y)), int(round(x)), ch + 1] * vec[1]
                     for x, y in zip(xs, ys)]  # fmt: skip
                )
                s = sum(mid) / 10 + min(0.5 * height / norm - 1, 0)
                if np.count_nonzero(mid > 0.05) > 8 and s > 0:
                    cands.append((i, j, s, s + ca[i][2] + cb[j][2]))
        rows = np.array(sorted(cands, key=lambda c: c[2], reverse=True), dtype=np.float64).reshape(-1, 4)
        ids_a = np.array([p[3] for p in ca], np.float64)
        ids_b = np.array([p[3] for p in cb], np.float64)
        connections.append(D.match_limb(rows, ids_a, ids_b))
    candidate = np.array([p for part in peaks for p in part], np.float64).reshape(-1, 4)
    return candidate, D.group(connections, candidate)


def planted_maps():
    """Two people (unit gaussians at the keypoints, unit PAF bands along the limbs) at 256x176."""
    template = np.array([(0, -28), (0, 0), (-24, 0), (-32, 36), (-36, 68), (24, 0), (32, 36), (36, 68), (-16, 68),
                         (-18, 108), (-20, 148), (16, 68), (18, 108), (20, 148), (-8, -36), (8, -36), (-16, -32),
                         (16, -32)]) * 0.55  # fmt: skip
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float64)
    heat, paf = np.zeros((H, W, 19)), np.zeros((H, W, 38))
    for neck in [(50, 70), (125, 80)]:
        pts = template + neck
        for p, (x, y) in enumerate(pts):
            heat[:, :, p] = np.maximum(heat[:, :, p], np.exp(-((xx - x) ** 2 + (yy - y) ** 2) / 18))
        for k, (a, b) in enumerate(LIMBS):
            d = pts[b] - pts[a]
            t = np.clip(((xx - pts[a][0]) * d[0] + (yy - pts[a][1]) * d[1]) / (d @ d), 0, 1)
            near = np.hypot(xx - pts[a][0] - t * d[0], yy - pts[a][1] - t * d[1]) <= 3
            paf[near, D.PAF_CHANNELS[k]], paf[near, D.PAF_CHANNELS[k] + 1] = d / np.linalg.norm(d)
    return heat, paf


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument(
        "--cpu-time", action="store_true", help="Time with process CPU time (steadier on a shared machine)."
    )
    args = ap.parse_args()
    global CLOCK
    if args.cpu_time:
        CLOCK = time.process_time
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    est = KP.KeypointEstimator(net=BodyPoseNet(), device="cpu", scales=(0.5,), batch_size=args.batch)
    rng = np.random.default_rng(0)
    imgs = [rng.integers(0, 255, (H, W, 3), dtype=np.uint8) for _ in range(args.batch)]
    inp, size = KP.prepare(imgs[0], 0.5)
    print(f"image {H}x{W}, scale 0.5 -> network input {inp.shape[1]}x{inp.shape[2]}, "
          f"torch threads {torch.get_num_threads()}, "
          f"clock: {'process CPU time' if args.cpu_time else 'wall'}")

    est._forward(inp[None])  # warm-up
    t_net = timed(lambda: est._forward(inp[None]), args.repeat)
    batch_in = np.stack([KP.prepare(im, 0.5)[0] for im in imgs])
    t_batch = timed(lambda: est._forward(batch_in), max(1, args.repeat // 2)) / args.batch
    pafs, heats = est._forward(inp[None])
    t_up = timed(lambda: (KP.upsample(heats[0], size, (H, W)), KP.upsample(pafs[0], size, (H, W))), args.repeat)

    rows = []
    for label, (heat, paf) in [("planted, 2 people", planted_maps()), ("random network maps", est.maps(imgs[:1])[0])]:
        ours = D.decode(heat, paf, H)
        ref = reference_decode(heat, paf, H)
        assert np.array_equal(ours[0], ref[0]) and np.array_equal(ours[1], ref[1]), "decoders disagree"
        t_ours = timed(lambda: D.decode(heat, paf, H), args.repeat)
        t_ref = timed(lambda: reference_decode(heat, paf, H), max(1, args.repeat // 2))
        rows.append((label, len(ours[0]), len(ours[1]), t_ours, t_ref))

    print(f"network, batch 1           : {1000 * t_net:8.1f} ms/image")
    print(f"network, batch {args.batch:<2d}          : {1000 * t_batch:8.1f} ms/image  "
          f"(throughput x{t_net / t_batch:.2f} vs batch 1)")  # fmt: skip
    print(f"maps -> image size (cubic) : {1000 * t_up:8.1f} ms/image")
    for label, n_peaks, n_people, t_ours, t_ref in rows:
        print(f"decode ({label}: {n_peaks} peaks, {n_people} people): {1000 * t_ours:.1f} ms "
              f"(reference-style {1000 * t_ref:.1f} ms, x{t_ref / t_ours:.1f}); "
              f"decode + upsample = {100 * (t_ours + t_up) / t_net:.1f}% of network time")  # fmt: skip


if __name__ == "__main__":
    main()
