"""`posewarp parse` end to end against SCHP's simple_extractor rules, same seeded weights, same images, one run.

    .venv/bin/python benchmarks/parse.py [--repeat 3] [--images 1] [--threads 1,2] [--no-compile] [--no-rss]

Per image, every side reads a PNG, parses it with the SCHP LIP network (473x473 input) and writes a palette
label PNG: the baseline is ``simple_extractor.py`` (benchmarks/reference_schp.py: batch norms unfolded, contiguous
NCHW), posewarp is ``HumanParser`` loaded from the same checkpoint file as ``posewarp parse`` loads it (norms
folded, its measured layout), eager and -- as ``posewarp parse`` runs jobs of 1000 images or more on the CPU --
compiled (the compile time is printed). Seeded random weights (He-initialised, norm weights of both signs): same
architecture, same cost. Sizes 128x64, 256x176 and a 512x512 photo-like picture; process CPU time per image, min
and median per side over the repeats, the ratio of the medians. Outputs must agree: equal labels, except at
pixels where the reference's two best logits tie within float rounding (counted and printed). Then peak RSS per
size and side, one image in a fresh process each, and posewarp on a 16-megapixel photo.
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import endtoend as E  # noqa: E402
import reference_schp as R  # noqa: E402

from posewarp.formats import images, parsing  # noqa: E402
from posewarp.preprocess import parser as P  # noqa: E402
from posewarp.preprocess import working_size as WS  # noqa: E402
from posewarp.preprocess.schp_net import SCHPNet  # noqa: E402

TIE = 1e-4  # a pixel whose two best logits differ by less than this (times the largest logit) is a rounding tie


def seeded_checkpoint(path: Path, seed: int = 0) -> None:
    """SCHP's checkpoint layout (``state_dict`` with ``module.`` keys) with seeded, well-scaled random weights."""
    g = torch.Generator().manual_seed(seed)
    state = {}
    for key, value in SCHPNet(num_classes=20).state_dict().items():
        shape = value.shape
        if len(shape) == 4:
            t = torch.randn(shape, generator=g) * math.sqrt(2.0 / math.prod(shape[1:]))
        elif key.endswith("running_var"):
            t = torch.rand(shape, generator=g) * 1.5 + 0.5
        elif key.endswith("bn3.weight") and key.startswith("layer"):
            t = (torch.rand(shape, generator=g) * 0.2 + 0.1) * torch.sign(torch.randn(shape, generator=g))
        elif key.endswith(".weight"):
            t = (torch.rand(shape, generator=g) + 0.5) * torch.sign(torch.randn(shape, generator=g))
        else:
            t = torch.randn(shape, generator=g) * 0.1
        state[f"module.{key}"] = t
    torch.save({"state_dict": state}, path)


def sides(weights: Path, out: Path, compile: bool) -> tuple[dict, P.HumanParser, float]:
    ref_net = P.load_network(weights, P.DATASETS["lip"])  # norms unfolded, as InPlaceABN runs them
    eager = P.HumanParser(weights, device="cpu")

    def posewarp(parser: P.HumanParser):
        def run(path: Path):
            rgb = images.read_image(path)
            scores = parser.working_logits([rgb])[0]
            labels = WS.upscaled_argmax(scores, rgb.shape[:2])
            parsing.write_label_png(out / f"pw-{path.stem}.png", labels)
            return labels, scores

        return run

    run = {
        "reference": lambda path: R.extract(ref_net, path, out / f"ref-{path.stem}.png"),
        "posewarp": posewarp(eager),
    }
    compile_s = float("nan")
    if compile:
        compiled = P.HumanParser(weights, device="cpu", compile=True)
        start = time.perf_counter()
        compiled.working_logits([np.zeros((64, 64, 3), np.uint8)])
        compile_s = time.perf_counter() - start
        run["compiled"] = posewarp(compiled)
    return run, eager, compile_s


def agree(run: dict, path: Path) -> str:
    ref_labels, ref_logits = run["reference"](path)
    top2 = np.sort(ref_logits, axis=2)[:, :, -2:]
    tie = (top2[:, :, 1] - top2[:, :, 0]) < TIE * np.abs(ref_logits).max()
    notes = []
    for name in [n for n in run if n != "reference"]:
        labels, _ = run[name](path)
        differ = labels != ref_labels
        assert not (differ & ~tie).any(), f"{path.name}: {name} labels differ beyond rounding ties"
        notes.append(f"{name}: {differ.sum()} px at ties" if differ.any() else f"{name}: equal")
    return f"{len(np.unique(ref_labels))} labels, " + ", ".join(notes)


def child(args) -> None:
    E.set_threads(1)
    side, weights, path = args.child[0], Path(args.child[1]), Path(args.child[2])
    start = time.process_time()
    out = Path(tempfile.mkdtemp())
    if side == "reference":
        R.extract(P.load_network(weights, P.DATASETS["lip"]), path, out / "x.png")
    else:
        rgb = images.read_image(path)
        parser = P.HumanParser(weights, device="cpu")
        parsing.write_label_png(out / "x.png", WS.upscaled_argmax(parser.working_logits([rgb])[0], rgb.shape[:2]))
    E.child_report(time.process_time() - start)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--images", type=int, default=1, help="pictures per size")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--no-compile", action="store_true", help="skip the compiled posewarp side")
    ap.add_argument("--no-rss", action="store_true", help="skip the peak-RSS runs")
    ap.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        return child(args)
    tmp = Path(tempfile.mkdtemp(prefix="posewarp-bench-"))
    weights = tmp / "exp-schp-lip.pth"
    seeded_checkpoint(weights)
    paths = {size: E.write_images(tmp, size, args.images) for size in E.SIZES}
    print(f"parse end to end (read PNG, network, argmax, write PNG), CPU s per image; {E.machine()}")
    for threads in (int(t) for t in args.threads.split(",")):
        E.set_threads(threads)
        run, eager, compile_s = sides(weights, tmp, compile=not args.no_compile)
        print(f"\n{threads} thread(s); posewarp runs {eager.runner.describe()}"
              + ("" if args.no_compile else f"; compiling took {compile_s:.0f} s wall"))  # fmt: skip
        print(f"{'size':>9} | side     | {E.HEADER} | wall ratio")
        for size, files in paths.items():
            found = "; ".join(agree(run, p) for p in files)
            times = E.interleaved(run, files, args.repeat)
            for name in [n for n in run if n != "reference"]:
                line = E.ratio_line(times["reference"]["cpu"], times[name]["cpu"])
                wall = E.ratio_line(times["reference"]["wall"], times[name]["wall"], short=True)
                print(f"{size[0]:>4}x{size[1]:<4} | {name:8s} | {line} | {wall}")
            print(f"{'':9} | agree: {found}")
    if args.no_rss:
        return
    E.print_memory(Path(__file__).resolve(), weights, paths, tmp)


if __name__ == "__main__":
    main()
