"""Where one packed item comes from (image, keypoints, label map) and whether it is fit to pack.

Names in a pairs CSV are image paths relative to ``--images``; the keypoints are
``<keypoints>/<stem>.json`` (any pose file ``keypoints.read_poses`` reads; ``--person N`` or the largest
person) or a row of one keypoints file (PATN CSV, MS COCO JSON), and the label map is
``<parsing>/<stem>.png`` (subfolders preserved).
A name that could reach outside these folders (absolute, ``..``, backslashes) is refused; symbolic
links inside the folders are the user's choice and are followed.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import numpy as np

from posewarp.errors import PosewarpError
from posewarp.formats.geometry import Fit
from posewarp.formats.images import read_image
from posewarp.formats.input_file import read_bytes
from posewarp.formats.keypoint_sources import KeypointSource
from posewarp.formats.keypoints import KEYPOINT_NAMES, outside
from posewarp.formats.parsing import NUM_LABELS, label_path_for, read_label_png

JPEG_SUFFIXES = (".jpg", ".jpeg")


@dataclass
class Item:
    """One image ready to be written: RGB ``(H, W, 3)``, labels ``(H, W)``, keypoints ``(18, 3)``."""

    name: str
    rgb: np.ndarray
    labels: np.ndarray
    keypoints: np.ndarray
    jpeg: bytes | None = None  # the source JPEG bytes when they can be stored unchanged


def check_name(name: str) -> str | None:
    """Why ``name`` cannot be packed (None when it is a safe relative path)."""
    if not name:
        return "empty name"
    if "\\" in name or "\x00" in name:
        return "name contains a backslash or NUL"
    p = PurePosixPath(name)
    if p.is_absolute() or ".." in p.parts or (os.name == "nt" and len(name) > 1 and name[1] == ":"):
        return "name escapes the input folders (absolute path or '..')"
    if not p.name or name.endswith("/"):
        return "name is a folder ('.' or ending in '/'), not an image file"
    return None


class Inputs:
    """The three input sources of ``posewarp pack`` and how to load and check one item from them."""

    def __init__(self, images: str | os.PathLike, keypoints: str | os.PathLike, parsing: str | os.PathLike,
                 pose_format: str = "auto", person: int | None = None):
        self.images = Path(images)
        self.parsing = Path(parsing)
        if not self.images.is_dir():
            raise PosewarpError("--images is not a folder", self.images)
        if not self.parsing.is_dir():
            raise PosewarpError("--parsing is not a folder", self.parsing)
        self.keypoints = KeypointSource(keypoints, pose_format, person)

    def load(self, name: str, size: tuple[int, int] | None = None, fit: str = "crop", keep_jpeg: bool = False) -> Item:
        """Read and check one item, transformed to ``size`` if given; raise ``PosewarpError`` if unfit."""
        reason = check_name(name)
        if reason:
            raise PosewarpError(reason, name)
        image_path = self.images / name
        rgb = read_image(image_path)
        label_path = label_path_for(name, self.parsing)
        labels = read_label_png(label_path)
        kp = self.keypoints(name)
        check_item(rgb, labels, kp, label_path)
        jpeg = None
        if size is not None and tuple(size) != rgb.shape[:2]:
            t = Fit.between(rgb.shape[:2], tuple(size), fit)
            rgb, labels, kp = t.image(rgb), t.labels(labels), t.keypoints(kp)
        elif keep_jpeg and image_path.suffix.lower() in JPEG_SUFFIXES:
            jpeg = read_bytes(image_path)
        return Item(name, rgb, labels, kp, jpeg)


def check_item(rgb: np.ndarray, labels: np.ndarray, kp: np.ndarray, label_path: str | os.PathLike | None = None) -> None:
    """Image and label sizes agree, label ids are < 20, keypoints lie in the image or are missing."""
    h, w = rgb.shape[:2]
    if labels.shape != (h, w):
        raise PosewarpError(f"label map is {labels.shape[0]}x{labels.shape[1]} but the image is {h}x{w}", label_path)
    top = int(labels.max(initial=0))
    if top >= NUM_LABELS:
        raise PosewarpError(f"label id {top} found; ids must be < {NUM_LABELS}", label_path)
    i = outside(kp, (h, w))
    if i is not None:
        raise PosewarpError(f"keypoint {i} ({KEYPOINT_NAMES[i]}) at ({kp[i, 0]:.1f}, {kp[i, 1]:.1f}) lies outside "
                            f"the {h}x{w} image")  # fmt: skip
