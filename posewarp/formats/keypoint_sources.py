"""The keypoints of a dataset's images, looked up by image name (``pack --keypoints``, ``eval --keypoints``).

The source is a folder of pose files, one per image (``<name without extension>.json``, or OpenPose's own
``<stem>_keypoints.json``; subfolders as in the image folder), or one table file covering many images (a PATN
annotation CSV, an MS COCO annotation JSON). Every file goes through ``keypoints.read_poses``, so any format
it reads works here, and one person per image is chosen with ``keypoints.choose_person``.
"""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath

import numpy as np

from posewarp.errors import PosewarpError
from posewarp.formats.keypoints import choose_person, empty, read_poses


class KeypointsNotFound(PosewarpError):
    """The source has nothing for an image (no file, no row)."""


def _stem(name: str) -> str:
    return PurePosixPath(name).with_suffix("").as_posix()


class KeypointSource:
    def __init__(self, path: str | os.PathLike, fmt: str = "auto", person: int | None = None):
        self.path = Path(path)
        self.fmt = fmt
        self.person = person
        self.several = 0  # images whose file holds more than one person
        if self.path.is_dir():
            self.table = None
        elif self.path.is_file():
            poses = read_poses(self.path, fmt)
            self.format = poses.format
            self.table = dict(poses.entries)
            self.sizes = poses.sizes
            self.by_stem = {PurePosixPath(_stem(k)).name: v for k, v in self.table.items()}
        else:
            raise PosewarpError("--keypoints is neither a folder of pose files nor a keypoints file "
                                "(PATN CSV, MS COCO JSON)", self.path)  # fmt: skip

    def files(self, name: str) -> list[Path]:
        """Where a folder source may keep the pose file of image ``name``."""
        stem = _stem(name)
        return [self.path / f"{stem}.json", self.path / f"{stem}_keypoints.json"]

    def people(self, name: str) -> tuple[np.ndarray, Path]:
        """Every person ``(P, 18, 3)`` given for image ``name`` (relative to the image folder), and its file."""
        if self.table is not None:
            base = PurePosixPath(name).name
            for found in (self.table.get(name), self.table.get(base), self.by_stem.get(PurePosixPath(_stem(name)).name)):
                if found is not None:
                    return found, self.path
            raise KeypointsNotFound(f"no keypoints for {name!r} in the keypoints file", self.path)
        path = next((p for p in self.files(name) if p.is_file()), None)
        if path is None:
            raise KeypointsNotFound(f"no pose file for {name!r} ({self.files(name)[0].name} or "
                                f"{self.files(name)[1].name})", self.path)  # fmt: skip
        poses = read_poses(path, self.fmt)
        if len(poses.entries) != 1:
            raise PosewarpError(f"holds {len(poses.entries)} poses; one image's file must hold one", path)
        return poses.entries[0][1], path

    def __call__(self, name: str) -> np.ndarray:
        """One person ``(18, 3)`` for image ``name``; all points missing when the file has nobody."""
        people, path = self.people(name)
        if len(people) == 0:
            return empty()
        self.several += len(people) > 1
        return choose_person(people, self.person, path)[0]

    def note(self) -> str | None:
        """What the source did that the user should hear about (several people in a file)."""
        if not self.several:
            return None
        how = f"person {self.person}" if self.person is not None else "the largest by keypoint box"
        return f"{self.several} images had several people in their keypoints; used {how} (--person N to choose)"
