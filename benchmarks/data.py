"""Pair loading speed: PairDataset (packed HDF5) versus loose files of the same content, and pack speed.

The loose-file loader decodes the image PNGs and label PNGs and reads the OpenPose JSON of both
sides for every sample; both loaders then build the same inputs (posewarp.data.dataset.make_item:
tensors in [-1, 1], one-hot parsing, pose disks, target pose mask). Timed in one run on a synthetic
mannequin set (posewarp.synth), one process and with DataLoader workers; also the loading part alone.

    .venv/bin/python benchmarks/data.py                      # 256x176, 300 images, 2 workers
    .venv/bin/python benchmarks/data.py --grain 6                 # photo-like images (slower PNG decode)
    .venv/bin/python benchmarks/data.py --size 128x64 --workers 4 --samples 2000
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from posewarp.data import PairDataset, pack
from posewarp.data.dataset import make_item
from posewarp.formats.images import read_image, write_image
from posewarp.formats.keypoints import read_openpose_json, read_pairs_csv, select_person
from posewarp.formats.parsing import read_label_png
from posewarp.synth import generate


class LooseDataset(Dataset):
    """The loader packing replaces: every sample reads its files from disk."""

    def __init__(self, root: Path, pairs_csv: Path, pose_radius: float = 4.0, maps: bool = True):
        self.root = root
        self.pairs = read_pairs_csv(pairs_csv)
        self.pose_radius = pose_radius
        self.maps = maps

    def __len__(self) -> int:
        return len(self.pairs)

    def read(self, name: str):
        stem = Path(name).with_suffix("")
        rgb = read_image(self.root / "images" / name)
        labels = read_label_png(self.root / "parsing" / f"{stem}.png")
        kp = select_person(read_openpose_json(self.root / "keypoints" / f"{stem}.json"), "best")
        return rgb, labels, kp

    def __getitem__(self, index: int) -> dict:
        a, b = self.pairs[index]
        out = make_item(self.read(a), self.read(b), pose_radius=self.pose_radius, maps=self.maps)
        out.update(src_name=a, tgt_name=b, index=index)
        return out


def rate(fn, order) -> float:
    start = time.perf_counter()
    for i in order:
        fn(int(i))
    return len(order) / (time.perf_counter() - start)


def loader_rate(ds, order, workers: int, batch: int) -> float:
    loader = DataLoader(ds, batch_size=batch, sampler=list(order), num_workers=workers, persistent_workers=False)
    it = iter(loader)
    next(it)  # start-up (worker spawn, file open) is not loading speed
    start, n = time.perf_counter(), 0
    for b in it:
        n += len(b["index"])
    return n / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--identities", type=int, default=30)
    parser.add_argument("--poses", type=int, default=10)
    parser.add_argument("--size", default="256x176")
    parser.add_argument("--samples", type=int, default=600)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument(
        "--grain", type=float, default=0.0,
        help="add seeded Gaussian noise of this sigma to the synthetic images so they decode like photos (e.g. 6)",
    )  # fmt: skip
    args = parser.parse_args()
    h, w = (int(v) for v in args.size.split("x"))
    torch.set_num_threads(1)
    tmp = Path(tempfile.mkdtemp(prefix="posewarp-bench-"))
    try:
        root = tmp / "set"
        generate(root, identities=args.identities, poses_per_identity=args.poses, size=(h, w), seed=0, show_progress=False)
        pairs = [root / "pairs-train.csv", root / "pairs-test.csv"]
        if args.grain > 0:  # flat-shaded mannequins decode far faster than photos; grain makes them photo-like
            rng = np.random.default_rng(1)
            for path in sorted((root / "images").iterdir()):
                rgb = read_image(path).astype(np.float32) + rng.normal(0, args.grain, (h, w, 3))
                write_image(path, np.clip(rgb.round(), 0, 255).astype(np.uint8))
        n_images = args.identities * args.poses
        print(f"synthetic set: {n_images} images {h}x{w} (grain {args.grain}), {len(read_pairs_csv(pairs[0]))} train pairs")
        reports = {}
        for encode in ("raw", "jpeg"):
            reports[encode] = pack(root / "images", root / "keypoints", root / "parsing", pairs,
                                   tmp / f"{encode}.h5", encode=encode, show_progress=False)  # fmt: skip
            r = reports[encode]
            print(f"pack --encode {encode}: {r.images_per_second:7.0f} images/s  ({r.file_bytes / 2**20:.1f} MiB)")
        loose_bytes = sum(p.stat().st_size for p in root.rglob("*") if p.is_file())
        print(f"loose files: {loose_bytes / 2**20:.1f} MiB")

        loose = LooseDataset(root, pairs[0])
        packed = {e: PairDataset(tmp / f"{e}.h5", "train") for e in reports}
        order = np.random.default_rng(0).integers(0, len(loose), args.samples)
        for ds in (loose, *packed.values()):  # warm the page cache and open handles
            rate(ds.__getitem__, order[:20])

        print("\nloading only (files -> arrays), one process, samples/s:")
        f = packed["raw"]._handle()
        load_loose = rate(lambda i: [loose.read(n) for n in loose.pairs[i]], order)
        load_packed = rate(lambda i: [packed["raw"]._read(f, int(r)) for r in packed["raw"].pairs[i]], order)
        print(f"  loose {load_loose:8.0f}   packed raw {load_packed:8.0f}   ratio {load_packed / load_loose:5.1f}x")

        for maps in (True, False):
            what = "full samples (load + tensors + one-hot + pose disks + pose mask)" if maps else (
                "samples without dense maps (maps=False: the loop renders them on its device)")
            print(f"\n{what}, samples/s:")
            loose = LooseDataset(root, pairs[0], maps=maps)
            packed = {e: PairDataset(tmp / f"{e}.h5", "train", maps=maps) for e in reports}
            base = rate(loose.__getitem__, order)
            row = f"  1 process:  loose {base:7.0f}"
            for e, ds in packed.items():
                ours = rate(ds.__getitem__, order)
                row += f"   packed {e} {ours:7.0f} ({ours / base:4.1f}x)"
            print(row)
            if args.workers > 0:
                base = loader_rate(loose, order, args.workers, args.batch)
                row = f"  {args.workers} workers:  loose {base:7.0f}"
                for e, ds in packed.items():
                    ours = loader_rate(ds, order, args.workers, args.batch)
                    row += f"   packed {e} {ours:7.0f} ({ours / base:4.1f}x)"
                print(row)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
