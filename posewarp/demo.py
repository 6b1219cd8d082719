"""``posewarp demo``: the whole pipeline offline, from nothing, on a CPU.

Synthesise a small world of people (``posewarp synth``, the ``fashion`` recipe unless told otherwise: studio
shoots, garments whose back differs from their front, estimated keypoints and parsing), pack it (``posewarp
pack``), train Stage I and Stage II with the ``tiny`` preset (``posewarp train``; Stage II learns from Stage
I's predicted parsing, as it will run), render every held-out test pair (``posewarp transfer --data``), score
the results against the target photos and against three non-learned baselines, "copy the source image", "the
background only" (the source with its person filled in) and the per-part keypoint warp (``posewarp eval``), and
write a results grid and a metrics table.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from posewarp.console import err
from posewarp.errors import PosewarpError


@dataclass(frozen=True)
class DemoPlan:
    identities: int
    poses_per_identity: int
    size: tuple[int, int]
    stage1_steps: int
    stage2_steps: int
    test_fraction: float = 0.2
    recipe: str = "fashion"


PLANS = {
    "quick": DemoPlan(identities=12, poses_per_identity=4, size=(128, 64), stage1_steps=100, stage2_steps=80),
    "full": DemoPlan(identities=40, poses_per_identity=6, size=(128, 64), stage1_steps=400, stage2_steps=400),
}

METRICS = "ssim,mask-ssim"


BASELINES = {"copy_source": "copy the source image", "background_only": "background only (no person)",
             "part_warp": "per-part keypoint warp"}


def _baselines(data: Path, results: Path, show_progress: bool) -> dict[str, Path]:
    """The non-learned baselines' pictures of every test pair, named like the model's (``posewarp.baselines``)."""
    import torch

    from posewarp import baselines
    from posewarp.console import track
    from posewarp.data import PairDataset
    from posewarp.formats import images

    folders = {name: results.parent / f"{name.replace('_', '-')}-baseline" for name in BASELINES}
    dataset = PairDataset(data, "test", maps=False)
    loader = torch.utils.data.DataLoader(dataset, batch_size=32)
    for batch in track(loader, "baselines", total=len(loader), show=show_progress):
        pictures = {
            "copy_source": baselines.copy_source(batch["src_image"]),
            "background_only": baselines.background_only(batch["src_image"], batch["src_labels"]),
            "part_warp": baselines.part_warp(batch["src_image"], batch["src_labels"], batch["src_keypoints"],
                                             batch["tgt_keypoints"]),
        }
        for name, tensor in pictures.items():
            for i, rgb in enumerate(images.to_uint8(tensor)):
                stem = f"{Path(batch['src_name'][i]).stem}___{Path(batch['tgt_name'][i]).stem}"
                images.write_image(folders[name] / f"{stem}.png", rgb)
    return folders


def run_demo(out: str | os.PathLike = "demo-out", *, quick: bool = False, seed: int = 0, device: str = "auto",
             show_progress: bool = True, plan: DemoPlan | None = None, threads: int | None = None,
             recipe: str | None = None) -> dict:
    """Run the offline demo into ``out``; returns the metrics document (also written as ``metrics.json``).

    ``plan`` replaces the quick/full sizes (tests use a very small one); ``threads``: CPU threads of training
    (default: ``OMP_NUM_THREADS``, else the cores not busy); ``recipe`` replaces the plan's world recipe."""
    from posewarp.data import pack
    from posewarp.formats.outputs import check_folder
    from posewarp.interrupt import Interrupted
    from posewarp.metrics.evaluate import evaluate
    from posewarp.synth import generate
    from posewarp.training.runner import configure, train
    from posewarp.transfer_batch import transfer_dataset

    plan = plan or PLANS["quick" if quick else "full"]
    if recipe is not None:
        plan = replace(plan, recipe=recipe)
    out = check_folder(out)
    if out.exists() and any(out.iterdir()):
        raise PosewarpError("the demo folder is not empty; pick another --out or remove it", out)
    world, data = out / "world", out / "world.h5"

    err.rule(f"1/6 synthesise a world of people ({plan.recipe} recipe)")
    generate(world, identities=plan.identities, poses_per_identity=plan.poses_per_identity, size=plan.size,
             seed=seed, test_fraction=plan.test_fraction, recipe=plan.recipe, show_progress=show_progress)
    err.rule("2/6 pack it into HDF5")
    pack(world / "images", world / "keypoints", world / "parsing", [world / "pairs-train.csv", world / "pairs-test.csv"],
         data, splits=["train", "test"], show_progress=show_progress)

    runs = out / "runs"
    common = {"data.path": str(data), "seed": seed}
    err.rule("3/6 train Stage I (pose-guided parser)")
    cfg1 = configure(1, preset="tiny", overrides={**common, "max_steps": plan.stage1_steps})
    stage1 = train(cfg1, out=runs, device=device, show_progress=show_progress, threads=threads)
    if stage1.interrupted:
        raise Interrupted(f"training was stopped; its run so far is {stage1.run_dir}")
    err.rule("4/6 train Stage II (the Warping-GAN, on Stage I's predicted parsing)")
    cfg2 = configure(2, preset="tiny", overrides={**common, "max_steps": plan.stage2_steps, "stage1": stage1.run_dir})
    stage2 = train(cfg2, out=runs, device=device, show_progress=show_progress, threads=threads)
    if stage2.interrupted:
        raise Interrupted(f"training was stopped; its runs so far are in {runs}")

    err.rule("5/6 transfer the held-out test pairs")
    results = out / "results"
    transfer_dataset(data, "test", results, stage1=stage1.run_dir, stage2=stage2.run_dir, device=device,
                     grid=out / "results-grid.png", show_progress=show_progress)

    err.rule("6/6 evaluate, beside the non-learned baselines")
    kw = {"metrics": METRICS, "pairs": results / "pairs.csv", "keypoints": results / "annotations.csv",
          "device": device, "show_progress": show_progress}
    ours = evaluate(results / "pred", results / "gt", **kw)
    baseline_scores = {name: evaluate(folder, results / "gt", **kw)
                       for name, folder in _baselines(data, results, show_progress).items()}
    doc = {
        "plan": asdict(plan),
        "runs": {"stage1": stage1.run_dir, "stage2": stage2.run_dir},
        "sec_per_step": {"stage1": stage1.sec_per_step, "stage2": stage2.sec_per_step},
        "stage1_validation": stage1.validation,
        "stage2_validation": stage2.validation,
        "posewarp": ours,
        **baseline_scores,
        "grid": str(out / "results-grid.png"),
    }
    from posewarp.formats import atomic

    atomic.write_text(out / "metrics.json", json.dumps(doc, indent=2, default=str))
    return doc
