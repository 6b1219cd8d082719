"""Human parsing: the 20 LIP/CIHP labels, palette PNGs that keep label ids exactly, one-hot, flips, remaps.

Label maps are ``(H, W)`` (or ``(N, H, W)``) integer ids; one-hot maps are ``(..., 20, H, W)``.
Left/right follow the person's own view, like OpenPose's R/L.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from posewarp.errors import PosewarpError
from posewarp.formats import atomic
from posewarp.formats.input_file import read_bytes

NUM_LABELS = 20

# The design card's names (CIHP naming for id 10).
LABELS = (
    "background", "hat", "hair", "glove", "sunglasses", "upper-clothes", "dress", "coat", "socks", "pants",
    "torso-skin", "scarf", "skirt", "face", "left-arm", "right-arm", "left-leg", "right-leg", "left-shoe",
    "right-shoe",
)  # fmt: skip

# LIP-trained parsers (SCHP, JPPNet) call id 10 "jumpsuits"; CIHP/PGN/Graphonomy call it "torso-skin".
LABEL_SETS = {
    "cihp": LABELS,
    "lip": LABELS[:10] + ("jumpsuits",) + LABELS[11:],
}

# The LIP/CIHP colour map (RGB) of JPPNet, PGN and Graphonomy.
PALETTE = np.array(
    [
        (0, 0, 0), (128, 0, 0), (255, 0, 0), (0, 85, 0), (170, 0, 51), (255, 85, 0), (0, 0, 85), (0, 119, 221),
        (85, 85, 0), (0, 85, 85), (85, 51, 0), (52, 86, 128), (0, 128, 0), (0, 0, 255), (51, 170, 221),
        (0, 255, 255), (85, 255, 170), (170, 255, 85), (255, 255, 0), (255, 170, 0),
    ],
    np.uint8,
)  # fmt: skip

# What each label becomes under a horizontal flip: left/right arm, leg and shoe swap.
FLIP_PERMUTATION = np.array([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 15, 14, 17, 16, 19, 18])

# Coarser label sets: a lookup table from the 20 ids, and the coarse names.
REMAPS = {
    # PISE / ADGAN's K=8 merge (PISE issue #2).
    "pise8": (
        np.array([0, 1, 1, 0, 0, 2, 3, 2, 7, 3, 6, 0, 3, 5, 6, 6, 7, 7, 4, 4]),
        ("background", "hair", "upper-clothes", "bottom-clothes", "shoes", "face", "arms", "legs"),
    ),
}


def check_labels(labels: np.ndarray, path: str | os.PathLike | None = None, num_labels: int = NUM_LABELS) -> np.ndarray:
    labels = np.asarray(labels)
    if labels.ndim < 2:
        raise PosewarpError(f"a label map must be (H, W), got shape {labels.shape}", path)
    if labels.size and (labels.min() < 0 or labels.max() >= num_labels):
        raise PosewarpError(f"label ids must lie in 0..{num_labels - 1}, found {int(labels.max())}", path)
    return labels


def flip(labels):
    """Mirror a label map (numpy ``(..., H, W)`` or torch) horizontally, swapping left and right parts."""
    if isinstance(labels, torch.Tensor):
        perm = torch.as_tensor(FLIP_PERMUTATION, device=labels.device)
        return perm[labels.long().flip(-1)].to(labels.dtype)
    return FLIP_PERMUTATION[np.asarray(labels)[..., ::-1]].astype(np.asarray(labels).dtype)


def one_hot(labels, num_labels: int = NUM_LABELS):
    """``(..., H, W)`` ids to float32 ``(..., num_labels, H, W)`` (numpy or torch)."""
    if isinstance(labels, torch.Tensor):
        # scatter into float zeros: the same maps as F.one_hot(...).movedim(...).float(), 3x faster and contiguous
        labels = labels.long()
        out = torch.zeros((*labels.shape[:-2], num_labels, *labels.shape[-2:]), device=labels.device)
        return out.scatter_(-3, labels.unsqueeze(-3), 1.0)
    labels = np.asarray(labels)
    return (labels[..., None, :, :] == np.arange(num_labels)[:, None, None]).astype(np.float32)


def argmax(onehot):
    """``(..., C, H, W)`` scores to ``(..., H, W)`` ids (int64 tensor or uint8 array)."""
    if isinstance(onehot, torch.Tensor):
        return onehot.argmax(-3)
    return np.asarray(onehot).argmax(-3).astype(np.uint8)


def remap(labels, name: str):
    """Map 20-class ids to a coarser set, e.g. ``remap(labels, "pise8")``."""
    if name not in REMAPS:
        raise PosewarpError(f"unknown label remap {name!r}; known: {', '.join(REMAPS)}")
    table = REMAPS[name][0]
    if isinstance(labels, torch.Tensor):
        return torch.as_tensor(table, device=labels.device)[labels.long()]
    return table[np.asarray(labels)].astype(np.uint8)


def colorize(labels: np.ndarray) -> np.ndarray:
    """``(H, W)`` ids to an ``(H, W, 3)`` RGB picture in the LIP/CIHP colours."""
    labels = np.asarray(labels)
    return PALETTE[np.clip(labels, 0, len(PALETTE) - 1)]


def encode_label_png(labels: np.ndarray) -> bytes:
    """A palette PNG whose pixel values are the label ids (the colours are only for viewing)."""
    labels = check_labels(labels, num_labels=256)
    if labels.ndim != 2:
        raise PosewarpError(f"a label PNG holds one (H, W) map, got shape {labels.shape}")
    img = Image.fromarray(labels.astype(np.uint8), mode="P")
    palette = np.zeros((256, 3), np.uint8)
    palette[: len(PALETTE)] = PALETTE
    img.putpalette(palette.reshape(-1).tolist())
    buf = io.BytesIO()
    img.save(buf, format="PNG", optimize=False)
    return buf.getvalue()


def write_label_png(path: str | os.PathLike, labels: np.ndarray) -> None:
    atomic.write_bytes(path, encode_label_png(labels))


def read_label_png(path: str | os.PathLike) -> np.ndarray:
    """``(H, W)`` uint8 label ids from a palette or greyscale PNG (the raw indices, never the colours)."""
    from posewarp.formats.images import open_checked

    with open_checked(read_bytes(path), path) as img:
        if img.mode not in ("P", "L", "I", "I;16"):
            raise PosewarpError(f"a label map must be a palette or greyscale PNG, got mode {img.mode}", path)
        try:
            img.load()
            labels = np.asarray(img)
        except (OSError, SyntaxError, ValueError) as exc:
            raise PosewarpError(f"not a readable label PNG ({exc})", path) from None
    if labels.max(initial=0) > 255:
        raise PosewarpError(f"label ids must be < 256, found {int(labels.max())}", path)
    return labels.astype(np.uint8)


def label_path_for(image_name: str, parsing_dir: str | os.PathLike) -> Path:
    """Where ``posewarp parse`` puts the label PNG for an image name: ``<dir>/<stem>.png``."""
    return Path(parsing_dir) / (Path(image_name).with_suffix(".png"))
