"""Non-learned baselines for pose transfer: what a few lines of geometry and colour achieve.

Every learned model is measured against these (``benchmarks/quality.py``, ``posewarp demo``):

- ``copy_source``: the source image unchanged;
- ``part_warp``: each body part's pixels moved by the affine map between its source and target
  keypoints (``nn.part_grids``), back to front, over the source background with the source person
  filled in by image inpainting (OpenCV's Telea method);
- ``mean_colour_fill``: each region of a target parsing painted with the source's mean colour of the
  same label (a label the source lacks takes the mean colour of the whole source person), over the same
  inpainted background;
- ``grid_warp``: the source pixels sampled through a dense grid (the geometric matcher's).

Images are ``(N, 3, H, W)`` in [-1, 1], labels ``(N, H, W)`` int64, keypoints ``(N, 18, 3)`` pixels.
"""

from __future__ import annotations

import cv2
import numpy as np
import torch

from posewarp.formats import parsing as P
from posewarp.formats.images import to_tensor, to_uint8
from posewarp.nn import grids, part_grids, region_style


def copy_source(src_image: torch.Tensor) -> torch.Tensor:
    return src_image.clone()


def background(src_image: torch.Tensor, src_labels: torch.Tensor, radius: int = 3) -> torch.Tensor:
    """The source image with its person removed: the person's pixels (grown by 1 px) inpainted."""
    out = []
    kernel = np.ones((3, 3), np.uint8)
    for rgb, labels in zip(to_uint8(src_image), src_labels.cpu().numpy()):
        mask = cv2.dilate((labels > 0).astype(np.uint8), kernel)
        out.append(to_tensor(cv2.inpaint(np.ascontiguousarray(rgb), mask, radius, cv2.INPAINT_TELEA)))
    return torch.stack(out).to(src_image.device)


def part_warp(src_image: torch.Tensor, src_labels: torch.Tensor, src_keypoints: torch.Tensor,
              tgt_keypoints: torch.Tensor) -> torch.Tensor:
    """Every source part moved onto the target pose by its keypoints' affine map, over the inpainted background."""
    size = tuple(src_image.shape[2:])
    theta, _ = part_grids.part_affines(src_keypoints, tgt_keypoints, size)
    masks = part_grids.part_masks(src_labels, src_keypoints)
    out, _ = part_grids.layered_warp(src_image, masks, theta, background(src_image, src_labels))
    return out


def mean_colour_fill(src_image: torch.Tensor, src_labels: torch.Tensor, tgt_labels: torch.Tensor) -> torch.Tensor:
    """Each target region painted with the source's mean colour of its label, over the inpainted background."""
    colours = region_style.region_means(src_image, P.one_hot(src_labels))
    painted = region_style.paint(colours, P.one_hot(tgt_labels))
    return torch.where((tgt_labels > 0)[:, None], painted, background(src_image, src_labels))


def grid_warp(src_image: torch.Tensor, grid: torch.Tensor) -> torch.Tensor:
    return grids.warp(src_image, grid, padding_mode="border")
