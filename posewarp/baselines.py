"""Non-learned baselines for pose transfer: what a few lines of geometry and colour achieve.

Every learned model is measured against these (``benchmarks/quality.py``, ``posewarp demo``):

- ``copy_source``: the source image unchanged;
- ``background_only``: the source with its person filled in from the background around it (no person at
  all: what a metric gives for an empty picture);
- ``part_warp``: each body part's pixels moved by the affine map between its source and target
  keypoints (``nn.part_grids``), back to front, over the source background with the source person
  filled in from the background around it (``nn.fill``);
- ``mean_colour_fill``: each region of a target parsing painted with the source's mean colour of the
  same label (a label the source lacks takes the mean colour of the whole source person), over the same
  filled background;
- ``parsing_composite``: a target parsing (Stage I's prediction) filled by hand: inside its person, the
  part-warped source pixel where the warped source carries the same label, else the label's mean source
  colour; outside, the filled background (learned parsing, non-learned rendering);
- ``grid_warp``: the source pixels sampled through a dense grid (the geometric matcher's).

Images are ``(N, 3, H, W)`` in [-1, 1], labels ``(N, H, W)`` int64, keypoints ``(N, 18, 3)`` pixels.
"""

from __future__ import annotations

import torch

from posewarp.formats import parsing as P
from posewarp.nn import grids, part_grids, region_style
from posewarp.nn.fill import source_background


def copy_source(src_image: torch.Tensor) -> torch.Tensor:
    return src_image.clone()


def background_only(src_image: torch.Tensor, src_labels: torch.Tensor) -> torch.Tensor:
    return source_background(src_image, (src_labels > 0)[:, None])


def part_warp(src_image: torch.Tensor, src_labels: torch.Tensor, src_keypoints: torch.Tensor,
              tgt_keypoints: torch.Tensor) -> torch.Tensor:
    """Every source part moved onto the target pose by its keypoints' affine map, over the filled background."""
    size = tuple(src_image.shape[2:])
    theta, _ = part_grids.part_affines(src_keypoints, tgt_keypoints, size)
    masks = part_grids.part_masks(src_labels, src_keypoints)
    out, _ = part_grids.layered_warp(src_image, masks, theta, source_background(src_image, (src_labels > 0)[:, None]))
    return out


def mean_colour_fill(src_image: torch.Tensor, src_labels: torch.Tensor, tgt_labels: torch.Tensor) -> torch.Tensor:
    """Each target region painted with the source's mean colour of its label, over the filled background."""
    colours = region_style.region_means(src_image, P.one_hot(src_labels))
    painted = region_style.paint(colours, P.one_hot(tgt_labels))
    return torch.where((tgt_labels > 0)[:, None], painted, source_background(src_image, (src_labels > 0)[:, None]))


def parsing_composite(src_image: torch.Tensor, src_labels: torch.Tensor, src_keypoints: torch.Tensor,
                      tgt_keypoints: torch.Tensor, tgt_labels: torch.Tensor) -> torch.Tensor:
    """``tgt_labels`` painted with part-warped source pixels where their labels agree, mean colours elsewhere."""
    size = tuple(src_image.shape[2:])
    theta, _ = part_grids.part_affines(src_keypoints, tgt_keypoints, size)
    masks = part_grids.part_masks(src_labels, src_keypoints)
    src_onehot = P.one_hot(src_labels).float()
    both = torch.cat((src_image, src_onehot), 1)
    empty = torch.zeros_like(both)
    moved, cover = part_grids.layered_warp(both, masks, theta, empty, mode="nearest")
    agree = cover & (moved[:, 3:].argmax(1, keepdim=True) == tgt_labels[:, None]) & (tgt_labels[:, None] > 0)
    painted = mean_colour_fill(src_image, src_labels, tgt_labels)
    return torch.where(agree, moved[:, :3], painted)


def grid_warp(src_image: torch.Tensor, grid: torch.Tensor) -> torch.Tensor:
    return grids.warp(src_image, grid, padding_mode="border")
