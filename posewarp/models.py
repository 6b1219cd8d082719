"""The networks of a config, and how they are called on a batch: shared by training and inference.

Builders turn a ``TrainConfig`` into untrained ``nn.Module``s (a snapshot stores the config, so it rebuilds
its own networks). The batch helpers compute the inputs a network needs from what a pair carries (labels,
keypoints, one-hot parsing, pose disks), so that training, validation and ``TransferPipeline`` feed the
networks identically:

- ``parser_inputs`` / ``predict_parsing``: Stage I (with the part-warped prior when the config has it);
- ``transformation_grids``: Stage II's grids, the geometric matcher's affine+TPS grid and/or the per-part
  keypoint grid (``model.grids``), stacked ``(N, G, H, W, 2)``.
"""

from __future__ import annotations

import torch
from torch import nn

from posewarp.config import ModelConfig, TrainConfig
from posewarp.config_ranges import GRID_KINDS
from posewarp.formats import parsing as P
from posewarp.nn import GeometricMatcher, ParsingGenerator, PatchDiscriminator, WarpingGenerator, part_grids

POSE_CHANNELS = 18
STAGE1_COND = P.NUM_LABELS + POSE_CHANNELS  # source parsing + target pose
STAGE2_COND = 3 + P.NUM_LABELS + P.NUM_LABELS + POSE_CHANNELS  # source image + parsing, target parsing + pose


def grid_kinds(model: ModelConfig) -> list[str]:
    """The transformation grids Stage II uses, in order (empty without a warp)."""
    return model.grids.split("+") if model.warp else []


def uses_matcher(model: ModelConfig) -> bool:
    return "matcher" in grid_kinds(model)


def build_parser(config: TrainConfig) -> nn.Module:
    """Stage I: the pose-guided parser."""
    m = config.model
    return ParsingGenerator(in_channels=STAGE1_COND, out_channels=P.NUM_LABELS, ngf=m.ngf, n_downsample=m.n_downsample,
                            n_blocks=m.n_blocks, warped_channels=P.NUM_LABELS if m.part_prior else 0,
                            skips=m.parser_skips, upsample_mode=m.upsample)


def build_generator(config: TrainConfig) -> nn.Module:
    """Stage II: the Warping-GAN generator."""
    m = config.model
    return WarpingGenerator(ngf=m.ngf, n_downsample=m.n_downsample, n_blocks=m.n_blocks, gate=m.gate, warp=m.warp,
                            extra_block=m.extra_block, warp_levels=m.warp_levels, gate_mode=m.gate_mode,
                            num_grids=max(1, len(grid_kinds(m))), region_style=m.region_style,
                            upsample_mode=m.upsample, composite=m.composite, refine=m.refine)


def build_discriminator(config: TrainConfig) -> nn.Module:
    """The PatchGAN of the config's stage, conditioned on that stage's generator inputs."""
    m = config.model
    cond, out = (STAGE1_COND, P.NUM_LABELS) if config.stage == 1 else (STAGE2_COND, 3)
    return PatchDiscriminator(in_channels=cond + out, ndf=m.ndf, n_layers=m.d_layers)


def build_matcher(config: TrainConfig, vgg_weights=None) -> nn.Module:
    """The geometric matcher; ``vgg_weights`` (the torchvision VGG16 file) for the paper's ``vgg16`` trunk,
    else its trunk starts random (a snapshot's state dict is loaded afterwards)."""
    m = config.model
    size = (m.matcher_feature_size,) * 2 if m.matcher_feature_size else None
    if m.matcher_features == "vgg16" and vgg_weights is not None:
        return GeometricMatcher(features="vgg16", vgg_weights=vgg_weights, feature_size=size)
    return GeometricMatcher(features=m.matcher_features, random_init=True, feature_size=size, width=m.matcher_width)


def parser_inputs(parser: nn.Module, batch: dict) -> tuple[torch.Tensor, ...]:
    """Stage I's inputs from a batch: source parsing, target pose (and the part-warped prior if it takes one)."""
    inputs = (batch["src_parsing"].float(), batch["tgt_pose"].float())
    if getattr(parser, "warped_channels", 0):
        inputs += (part_grids.warped_parsing(batch["src_labels"], batch["src_keypoints"], batch["tgt_keypoints"]),)
    return inputs


@torch.no_grad()
def predict_parsing(parser: nn.Module, batch: dict) -> torch.Tensor:
    """Stage I's target labels ``(N, H, W)`` int64."""
    return parser(*parser_inputs(parser, batch)).argmax(dim=1)


def transformation_grids(model: ModelConfig, matcher: nn.Module | None, batch: dict, tgt_parsing: torch.Tensor,
                         *, matcher_grad: bool = False) -> torch.Tensor | None:
    """Stage II's grids ``(N, G, H, W, 2)`` between the batch's source and the target parsing, or None (no warp).

    ``matcher`` runs without gradients unless ``matcher_grad`` (fine-tuning it through the generator)."""
    kinds = grid_kinds(model)
    if not kinds:
        return None
    src = batch["src_parsing"].float()
    size = tuple(src.shape[2:])
    out = []
    for kind in kinds:
        if kind == "matcher":
            with torch.set_grad_enabled(matcher_grad and torch.is_grad_enabled()):
                out.append(matcher(src, tgt_parsing)["grid"](size))
        else:
            labels = tgt_parsing.argmax(dim=1)
            out.append(part_grids.target_grid(batch["src_keypoints"], batch["tgt_keypoints"], labels).to(src.dtype))
    return torch.stack(out, dim=1)


__all__ = [
    "GRID_KINDS", "build_discriminator", "build_generator", "build_matcher", "build_parser", "grid_kinds",
    "parser_inputs", "predict_parsing", "transformation_grids", "uses_matcher",
]
