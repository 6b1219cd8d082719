"""The transfer pipeline: source image, keypoints and parsing, a target pose -> Stage I -> Stage II.

One callable object (the diffusers idea of a pipeline): ``TransferPipeline.load(stage1, stage2)`` rebuilds
the Stage I parsing generator, the Warping-GAN generator and its geometric matcher from their snapshots;
``pipeline(src_rgb, src_keypoints, src_labels, tgt_keypoints)`` returns the person in the new pose.

Paper section 3 at test time: Stage I predicts the target parsing from the source parsing and the target
pose; the geometric matcher estimates the affine+TPS grid between the source parsing and that predicted
parsing; Stage II renders the source appearance into it. The networks work on a region of the source of their
trained aspect ratio around the person, scaled to their size, and the result is composited back into the
full-size source (``formats/framing.py``); the target skeleton is fitted to the source's body (``pose_fit``)
unless ``align=False``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from posewarp.config import ModelConfig
from posewarp.errors import PosewarpError
from posewarp.formats import heatmaps, images
from posewarp.formats import parsing as P
from posewarp.formats.framing import Framing, frame_person
from posewarp.formats.keypoints import check_shape
from posewarp.models import predict_parsing, transformation_grids
from posewarp.nn import grids
from posewarp.pose_fit import fit_pose

SHIPPED = {"stage1": "stage1-tiny-synth.pt", "stage2": "stage2-tiny-synth.pt"}
SHIPPED_DIR = Path(__file__).resolve().parent / "demo_weights"  # package data: in the wheel and the checkout


def shipped_weights(kind: str) -> Path:
    """The small demo snapshot shipped inside the package (``posewarp/demo_weights/``)."""
    path = SHIPPED_DIR / SHIPPED[kind]
    if not path.is_file():
        raise PosewarpError(
            f"the shipped {kind} demo weights are missing from this install (a build without package data?); "
            f"reinstall posewarp or pass --{kind} RUN_DIR_OR_SNAPSHOT",
            path,
        )
    return path


@dataclass
class TransferResult:
    image: np.ndarray  # (H, W, 3) uint8, at the networks' size
    full: np.ndarray  # (H, W, 3) uint8, at the source's size: ``image`` composited over the source (framing.py)
    parsing: np.ndarray  # (H, W) uint8, Stage I's predicted target parsing
    target_keypoints: np.ndarray  # (18, 3) the target pose as used (fitted), in output pixels
    source: np.ndarray  # (H, W, 3) uint8, the source as fed to the networks
    warped: np.ndarray | None  # (H, W, 3) uint8, the source image under the matcher's grid


class TransferPipeline:
    def __init__(self, *, stage1: torch.nn.Module, generator: torch.nn.Module, matcher: torch.nn.Module | None,
                 model: ModelConfig, size: tuple[int, int], device: torch.device, pose_radius: float = 4.0,
                 sources: dict[str, Path] | None = None):
        self.stage1 = stage1.to(device).eval()
        self.generator = generator.to(device).eval()
        self.matcher = None if matcher is None else matcher.to(device).eval()
        self.model = model  # Stage II's model config: which transformation grids the generator takes
        self.size = (int(size[0]), int(size[1]))
        self.device = device
        self.pose_radius = pose_radius
        self.sources = sources or {}  # {"stage1": file, "stage2": file}: the snapshots read (``load``)

    @classmethod
    def load(cls, stage1: str | os.PathLike | None = None, stage2: str | os.PathLike | None = None, *,
             device: str = "auto", size: tuple[int, int] | None = None) -> TransferPipeline:
        """Rebuild the networks from Stage I / Stage II snapshots or run dirs (default: the shipped demo weights)."""
        from posewarp.devices import resolve_device
        from posewarp.snapshots import load_networks

        dev = resolve_device(device)
        stage1 = stage1 or shipped_weights("stage1")
        stage2 = stage2 or shipped_weights("stage2")
        first = load_networks(stage1, kind="stage1")
        second = load_networks(stage2, kind="stage2")  # the generator, and the matcher when its grids use one
        config1, config2 = first.config, second.config
        trained = getattr(config2.data, "image_size", None)
        size = size or (tuple(trained) if trained else None)
        if size is None:
            raise PosewarpError("the Stage II snapshot does not record its image size; pass --size HxW", stage2)
        multiple = 2 ** max(config1.model.n_downsample, config2.model.n_downsample)
        if size[0] % multiple or size[1] % multiple:
            raise PosewarpError(f"size {size[0]}x{size[1]} must be a multiple of {multiple} for these networks")
        return cls(stage1=first.networks["generator"], generator=second.networks["generator"],
                   matcher=second.networks.get("matcher"), model=config2.model, size=size, device=dev,
                   pose_radius=config2.data.pose_radius, sources={"stage1": first.path, "stage2": second.path})

    # -- tensors in, tensors out -----------------------------------------------------------------

    @torch.no_grad()
    def run(self, batch: dict) -> dict:
        """Batched core. ``batch`` holds ``src_image`` (N, 3, H, W) in [-1, 1], ``src_labels`` (N, H, W),
        ``src_keypoints`` and ``tgt_keypoints`` (N, 18, 3) (what ``PairDataset(maps=False)`` gives); returns
        ``image`` (N, 3, H, W), ``parsing`` (N, H, W) int64, ``warped`` (N, 3, H, W) (the source under the
        last transformation grid) or None, ``gates``: the warping blocks' gates (N, 1, h, w), finest first, and
        ``composition``: the output's per-pixel candidate weights (N, K, H, W) of a composite generator, or None."""
        b = {k: batch[k].to(self.device) for k in ("src_image", "src_labels", "src_keypoints", "tgt_keypoints")}
        b["src_image"] = b["src_image"].float()
        b["src_parsing"] = P.one_hot(b["src_labels"])
        b["tgt_pose"] = heatmaps.pose_disks(b["tgt_keypoints"].float(), tuple(b["src_image"].shape[2:]), self.pose_radius)
        labels = predict_parsing(self.stage1, b)
        tgt_parsing = P.one_hot(labels).float()
        grid = transformation_grids(self.model, self.matcher, b, tgt_parsing)
        warped = None if grid is None else grids.warp(b["src_image"], grid[:, -1], padding_mode="border")
        out = self.generator(b["src_image"], b["src_parsing"], tgt_parsing, b["tgt_pose"], grid)
        return {"image": out["image"], "parsing": labels, "warped": warped, "gates": out["gates"],
                "composition": out.get("composition")}

    # -- one person, numpy in, numpy out ---------------------------------------------------------

    def framing(self, src_rgb: np.ndarray, src_keypoints: np.ndarray, src_labels: np.ndarray) -> Framing:
        """Where in the source the networks work (their trained aspect, around the person; ``framing.py``)."""
        return frame_person(src_rgb.shape[:2], self.size, src_labels, check_shape(src_keypoints))

    def __call__(self, src_rgb: np.ndarray, src_keypoints: np.ndarray, src_labels: np.ndarray,
                 tgt_keypoints: np.ndarray, *, align: bool = True, framing: Framing | None = None) -> TransferResult:
        src_keypoints, tgt_keypoints = check_shape(src_keypoints), check_shape(tgt_keypoints)
        if src_labels.shape != src_rgb.shape[:2]:
            raise PosewarpError(f"the source parsing is {src_labels.shape}, the image {src_rgb.shape[:2]}")
        framing = framing or self.framing(src_rgb, src_keypoints, src_labels)
        fit = framing.fit
        rgb, labels, kp = fit.image(src_rgb), fit.labels(src_labels), fit.keypoints(src_keypoints)
        target = fit_pose(tgt_keypoints, kp) if align else fit.keypoints(tgt_keypoints)
        out = self.run({
            "src_image": images.to_tensor(rgb)[None],
            "src_labels": torch.as_tensor(labels.astype(np.int64))[None],
            "src_keypoints": torch.as_tensor(kp, dtype=torch.float32)[None],
            "tgt_keypoints": torch.as_tensor(target, dtype=torch.float32)[None],
        })
        image = images.to_uint8(out["image"][0])
        return TransferResult(
            image=image,
            full=framing.composite(src_rgb, image, out["parsing"][0].cpu().numpy(), src_labels),
            parsing=out["parsing"][0].to(torch.uint8).cpu().numpy(),
            target_keypoints=target,
            source=rgb,
            warped=None if out["warped"] is None else images.to_uint8(out["warped"][0]),
        )
