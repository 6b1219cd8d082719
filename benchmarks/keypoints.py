"""`posewarp keypoints` end to end against the OpenPose port's rules, same seeded weights, same images, one run.

    .venv/bin/python benchmarks/keypoints.py [--repeat 3] [--images 2] [--threads 1,2] [--no-rss]

Per image, both sides read a PNG, find people and write a JSON: the baseline is Hzzone/pytorch-openpose
``Body`` (benchmarks/reference_openpose.py), posewarp is ``KeypointEstimator`` loaded from the same
``body_pose_model.pth``-layout file (seeded random weights: same architecture, same cost) as ``posewarp keypoints``
runs it. Sizes 128x64, 256x176 and a 512x512 photo-like picture; process CPU time per image, min and median per
side over the repeats, the ratio of the medians; both sides' peaks and people must agree (positions within 0.5
px). Then the network alone, a folder of same-size pictures (posewarp's default batch against the port one by one),
and peak RSS per size and side (one image in a fresh process each), and posewarp on a 16-megapixel photo.

The seeded weights: PyTorch's default initialisation gives maps that hardly depend on the picture (heatmaps
0.105 +- 1e-4 everywhere), whose "peaks" sit on plateaus; so the convolutions get He initialisation and the two
output layers are scaled once so that heatmaps have mean -0.25 and standard deviation 0.2 and PAFs standard
deviation 0.3 on a sample picture. That gives a few dozen to a few hundred peaks per picture (printed): the
decoding work of a few people, while the network's cost is the real one.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import endtoend as E  # noqa: E402
import reference_openpose as R  # noqa: E402

from posewarp.formats import images  # noqa: E402
from posewarp.formats import keypoints as K  # noqa: E402
from posewarp.preprocess import keypoints as KP  # noqa: E402
from posewarp.preprocess import openpose_decode as D  # noqa: E402
from posewarp.preprocess.openpose_net import BodyPoseNet, flat_state_dict  # noqa: E402


def seeded_network(seed: int = 0) -> BodyPoseNet:
    """The benchmark's weights (see the module docstring): He-initialised, output layers calibrated."""
    g = torch.Generator().manual_seed(seed)
    with torch.device("meta"):
        net = BodyPoseNet()
    net = net.to_empty(device="cpu").eval()
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, torch.nn.Conv2d):
                fan_in = m.in_channels * m.kernel_size[0] * m.kernel_size[1]
                m.weight.copy_(torch.randn(m.weight.shape, generator=g) * math.sqrt(2 / fan_in))
                m.bias.zero_()
        sample = E.render_rgb((256, 176), 0)
        net.final_relu = False
        paf, heat = net(torch.from_numpy(np.ascontiguousarray(KP.prepare(sample, 0.5)[0]))[None])
        net.final_relu = True
        for conv, out, std, mean in [(net.model6_2.Mconv7_stage6_L2, heat, 0.2, -0.25),
                                     (net.model6_1.Mconv7_stage6_L1, paf, 0.3, 0.0)]:  # fmt: skip
            mu, sd = out.mean(dim=(0, 2, 3)), out.std(dim=(0, 2, 3))
            conv.weight.mul_((std / sd).view(-1, 1, 1, 1))
            conv.bias.copy_(mean - mu * std / sd)
    return net


def network_alone(ref_net: torch.nn.Module, est: KP.KeypointEstimator, path: Path, repeat: int) -> str:
    """CPU s of the network call only: the port's contiguous NCHW under no_grad against posewarp's runner."""
    x = torch.from_numpy(np.ascontiguousarray(KP.prepare(images.read_image(path), 0.5)[0]))[None]

    def reference(_):
        with torch.no_grad():
            ref_net(x)

    times = E.interleaved({"reference": reference, "posewarp": lambda _: est.runner(x)}, [path], repeat)
    return E.ratio_line(times["reference"]["cpu"], times["posewarp"]["cpu"])


def folder_mode(run: dict, est: KP.KeypointEstimator, path: Path, out: Path, repeat: int) -> str:
    """Eight pictures of one size: the port one by one against posewarp's batch (``posewarp keypoints`` on a
    folder of same-size images), CPU s per image, interleaved."""
    paths = [path] * est.batch_size

    def batched(_):
        people = est.batch([images.read_image(p) for p in paths])
        for i, found in enumerate(people):
            K.write_openpose_json(out / f"pw-batch-{i}.json", found)

    def one_by_one(_):
        for p in paths:
            run["reference"](p)

    times = E.interleaved({"reference": one_by_one, "posewarp": batched}, [path], repeat)
    n = len(paths)
    return E.ratio_line([t / n for t in times["reference"]["cpu"]], [t / n for t in times["posewarp"]["cpu"]])


def sides(weights: Path, out: Path) -> tuple[dict, KP.KeypointEstimator, torch.nn.Module]:
    ref_net = R.load_body(torch.load(weights, weights_only=True))
    est = KP.KeypointEstimator(weights, device="cpu")

    def reference(path: Path):
        candidate, subset = R.body(ref_net, cv2.imread(str(path)))
        doc = {"candidate": candidate.tolist(), "subset": subset.tolist()}
        (out / f"ref-{path.stem}.json").write_text(json.dumps(doc))
        return candidate, subset

    def posewarp(path: Path):
        people = est.batch([images.read_image(path)])[0]
        K.write_openpose_json(out / f"pw-{path.stem}.json", people)
        return people

    return {"reference": reference, "posewarp": posewarp}, est, ref_net


def agree(est: KP.KeypointEstimator, run: dict, path: Path) -> str:
    """Peaks, people and their keypoints of both sides; raises when they differ."""
    rgb = images.read_image(path)
    ref_candidate, ref_subset = run["reference"](path)
    candidate, subset = D.decode(*est.maps([rgb])[0], rgb.shape[0])
    assert E.np_close(candidate[:, :2], ref_candidate[:, :2], 0.5), f"{path.name}: peaks differ"
    assert np.array_equal(subset[:, :18], ref_subset[:, :18]), f"{path.name}: people differ"
    people, ref_people = run["posewarp"](path), D.to_people(ref_candidate, ref_subset)
    assert E.np_close(people[..., :2], ref_people[..., :2], 0.5), f"{path.name}: keypoints differ"
    return f"{len(candidate)} peaks, {len(people)} people"


def child(args) -> None:
    E.set_threads(1)
    weights, path = Path(args.child[1]), Path(args.child[2])
    start = time.process_time()
    out = Path(tempfile.mkdtemp())
    if args.child[0] == "reference":
        candidate, _ = R.body(R.load_body(torch.load(weights, weights_only=True)), cv2.imread(str(path)))
        found = len(candidate)
    else:
        people = KP.KeypointEstimator(weights, device="cpu")(images.read_image(path))
        K.write_openpose_json(out / "x.json", people)
        found = len(people)
    E.child_report(time.process_time() - start, found=found)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--images", type=int, default=2, help="pictures per size")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--no-rss", action="store_true", help="skip the peak-RSS runs")
    ap.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        return child(args)
    tmp = Path(tempfile.mkdtemp(prefix="posewarp-bench-"))
    weights = tmp / "body_pose_model.pth"
    torch.save(flat_state_dict(seeded_network()), weights)
    paths = {size: E.write_images(tmp, size, args.images) for size in E.SIZES}
    print(f"keypoints end to end (read PNG, network, decode, write JSON), CPU s per image; {E.machine()}")
    for threads in (int(t) for t in args.threads.split(",")):
        E.set_threads(threads)
        run, est, ref_net = sides(weights, tmp)
        print(f"\n{threads} thread(s); posewarp runs {est.runner.describe()}")
        print(f"{'size':>9} | {E.HEADER} | outputs")
        for size, files in paths.items():
            found = "; ".join(agree(est, run, p) for p in files)
            times = E.interleaved(run, files, args.repeat)
            line = E.ratio_line(times["reference"]["cpu"], times["posewarp"]["cpu"])
            wall = E.ratio_line(times["reference"]["wall"], times["posewarp"]["wall"], short=True)
            print(f"{size[0]:>4}x{size[1]:<4} | {line} | agree: {found} | wall {wall}")
        print("network alone, one picture per call:")
        for size, files in paths.items():
            print(f"{size[0]:>4}x{size[1]:<4} | {network_alone(ref_net, est, files[0], args.repeat + 2)}")
        print(f"a folder of one size, posewarp batch {est.batch_size} (the port has no batching):")
        for size, files in paths.items():
            print(f"{size[0]:>4}x{size[1]:<4} | {folder_mode(run, est, files[0], tmp, args.repeat)}")
    if args.no_rss:
        return
    E.print_memory(Path(__file__).resolve(), weights, paths, tmp)


if __name__ == "__main__":
    main()
