"""``PairDataset``: (source, target) person pairs from a packed HDF5 file, with inputs rendered on the fly.

Each item gives both images in [-1, 1], their parsing (ids and 20-channel one-hot), 18-channel pose
disks of ``pose_radius`` px (the paper's pose input, DESIGN.md vocabulary), the PG2/PATN pose mask
of the target and the names. The HDF5 file is opened lazily in each process that reads it and the
handle is never pickled, so the dataset works in DataLoader workers started by fork, spawn or
forkserver (reference/ecosystem.md section 2) and with any sampler, DistributedSampler included.
"""

from __future__ import annotations

import os
import zlib
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from posewarp.data import schema
from posewarp.errors import PosewarpError
from posewarp.formats import keypoints as K
from posewarp.formats import parsing as P
from posewarp.formats.heatmaps import pose_disks, pose_mask
from posewarp.formats.images import decode_image, to_tensor


def splits(path: str | os.PathLike, locking: bool | None = None) -> list[str]:
    """The split names of a packed file, e.g. ``["test", "train"]``."""
    with schema.open_file(path, locking) as f:
        return sorted(f["pairs"].keys()) if "pairs" in f else []


def _keypoints_and_names(f, path) -> tuple[np.ndarray, list[str]]:
    """All keypoints (checked finite) and names of an open pack, read once per process."""
    try:
        kp = np.asarray(f["keypoints"][:], np.float32)
        names = [schema.text(n) for n in f["names"][:]]
    except (OSError, UnicodeDecodeError) as exc:
        raise schema.damaged("keypoints or names", path, exc) from None
    bad = ~np.isfinite(kp).all(axis=(1, 2))
    if bad.any():
        raise schema.damaged(f"keypoints[{int(np.argmax(bad))}] (NaN or infinity)", path)
    return kp, names


def flips(seed: int, epoch: int, index: int) -> bool:
    """Whether pair ``index`` is mirrored in ``epoch``: probability 0.5, a pure function of (seed, epoch, index)."""
    return bool(np.random.default_rng([seed, epoch, index]).random() < 0.5)


class PairDataset(Dataset):
    """Pairs of split ``split`` of a packed file (``posewarp pack``) as dicts of tensors.

    ``flip=True`` mirrors a pair (both images, keypoints with left/right swapped, labels with
    left/right parts swapped) with probability 0.5, decided by ``(seed, epoch, index)``: ``set_epoch`` for
    fresh flips, or index with ``(epoch, index)`` pairs as the training sampler does. ``locking=False`` turns
    off HDF5 file locking (NFS/Lustre).
    ``maps=False`` leaves out the dense maps (``*_parsing``, ``*_pose``, ``tgt_mask``) so that a
    training loop can render them for a whole batch on its device from ``*_labels`` and
    ``*_keypoints`` (parsing.one_hot, heatmaps.pose_disks / pose_mask): about 15 MB less per pair.
    """

    def __init__(
        self,
        path: str | os.PathLike,
        split: str,
        *,
        flip: bool = False,
        pose_radius: float = 4.0,
        seed: int = 0,
        locking: bool | None = None,
        maps: bool = True,
    ):
        self.path = Path(path)
        self.split = split
        self.flip = flip
        self.pose_radius = float(pose_radius)
        self.seed = int(seed)
        self.epoch = 0
        self.locking = locking
        self.maps = maps
        with schema.open_file(self.path, locking) as f:
            available = sorted(f["pairs"].keys())
            if split not in available:
                raise PosewarpError(f"no split {split!r}; this file has {', '.join(available) or 'none'}", self.path)
            self.pairs = schema.read_pairs(f, split, self.path)
            self._size = schema.image_size(f.attrs)
            self.encoding = schema.text(f.attrs["image_encoding"])
            self.num_images = int(f.attrs["num_images"])
        self._file = None
        self._pid = None
        self._keypoints = None
        self._names = None

    # -- file handle, one per process ---------------------------------------------------------------

    def _handle(self):
        if self._file is None or self._pid != os.getpid():
            # A handle inherited through fork belongs to the parent: never reuse it.
            f = schema.open_file(self.path, self.locking)
            try:
                self._keypoints, self._names = _keypoints_and_names(f, self.path)
            except BaseException:
                f.close()
                raise
            self._file, self._pid = f, os.getpid()
        return self._file

    def close(self) -> None:
        if self._file is not None and self._pid == os.getpid():
            self._file.close()
        self._file = self._pid = self._keypoints = self._names = None

    def __getstate__(self):
        state = self.__dict__.copy()
        state.update(_file=None, _pid=None, _keypoints=None, _names=None)
        return state

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass

    # -- items ---------------------------------------------------------------------------------------

    @property
    def image_size(self) -> tuple[int, int]:
        """``(H, W)`` of every image, label map and heatmap."""
        return self._size

    def __len__(self) -> int:
        return len(self.pairs)

    def _image(self, f, row: int) -> np.ndarray:
        if self.encoding == "raw":
            return f["images"][row]
        data = f["images"][row].tobytes()
        if "image_crc32" in f and zlib.crc32(data) != int(f["image_crc32"][row]):
            raise schema.damaged(f"images[{row}] (CRC-32 mismatch)", self.path)
        rgb = decode_image(data, f"{self.path}:images[{row}]")
        return rgb if rgb.flags.writeable else rgb.copy()

    def _read(self, f, row: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        try:
            rgb, labels = self._image(f, row), f["parsing"][row]
        except OSError as exc:  # a fletcher32 or gzip failure of a damaged chunk
            raise schema.damaged(f"row {row} (images or parsing)", self.path, exc) from None
        if labels.max(initial=0) >= P.NUM_LABELS:
            raise schema.damaged(f"parsing[{row}] (label id {int(labels.max())} >= {P.NUM_LABELS})", self.path)
        return rgb, labels, self._keypoints[row]

    def row(self, row: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """RGB ``(H, W, 3)``, labels ``(H, W)`` and keypoints ``(18, 3)`` of packed image ``row``, checked."""
        return self._read(self._handle(), int(row))

    def pair_names(self, index: int) -> tuple[str, str]:
        """``(source name, target name)`` of pair ``index``, without reading any pixel."""
        self._handle()
        a, b = (int(v) for v in self.pairs[index])
        return self._names[a], self._names[b]

    def pair_keypoints(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        """``(source (18, 3), target (18, 3))`` keypoints of pair ``index`` as packed."""
        self._handle()
        a, b = (int(v) for v in self.pairs[index])
        return self._keypoints[a].copy(), self._keypoints[b].copy()

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __getitem__(self, index: int | tuple[int, int]) -> dict:
        if isinstance(index, tuple):
            epoch, index = index
            self.set_epoch(epoch)
        if not -len(self) <= index < len(self):
            raise IndexError(f"pair {index} out of range for {len(self)} pairs")
        index = int(index) % len(self)
        f = self._handle()
        a, b = (int(v) for v in self.pairs[index])
        mirror = self.flip and flips(self.seed, self.epoch, index)
        out = make_item(self._read(f, a), self._read(f, b), mirror=mirror, pose_radius=self.pose_radius, maps=self.maps)
        out.update(src_name=self._names[a], tgt_name=self._names[b], index=index)
        return out

    def __repr__(self) -> str:
        h, w = self._size
        return f"PairDataset({str(self.path)!r}, {self.split!r}, pairs={len(self)}, size={h}x{w}, flip={self.flip})"


def _side(rgb: np.ndarray, labels: np.ndarray, kp: np.ndarray, mirror: bool):
    if mirror:
        rgb = rgb[:, ::-1]
        labels = P.flip(labels)
        kp = K.flip(kp, rgb.shape[1])
    labels = torch.from_numpy(np.array(labels, np.int64))
    rgb = rgb if rgb.flags.writeable and rgb.flags.c_contiguous else rgb.copy()
    return to_tensor(rgb), labels, torch.from_numpy(np.array(kp, np.float32))


def make_item(src: tuple, tgt: tuple, *, mirror: bool = False, pose_radius: float = 4.0, maps: bool = True) -> dict:
    """The network inputs of one pair from (RGB uint8 (H, W, 3), labels (H, W), keypoints (18, 3)) of each
    side: what ``PairDataset`` returns, less names and index (also used by the loose-file benchmark)."""
    out = {}
    for side, (rgb, labels, kp) in (("src", src), ("tgt", tgt)):
        image, labels, kp = _side(rgb, labels, kp, mirror)
        out[f"{side}_image"] = image
        out[f"{side}_labels"] = labels
        out[f"{side}_keypoints"] = kp
    if maps:
        add_maps(out, pose_radius)
        out["tgt_mask"] = pose_mask(out["tgt_keypoints"], tuple(tgt[0].shape[:2]))
    return out


def add_maps(batch: dict, pose_radius: float = 4.0) -> dict:
    """Add the dense network inputs (``*_parsing`` one-hot, ``*_pose`` disks) computed from ``*_labels`` and
    ``*_keypoints``, for one item or a whole batch, on the tensors' device (so a training loop can read
    ``maps=False`` items and render the maps on the GPU)."""
    for side in ("src", "tgt"):
        labels = batch[f"{side}_labels"]
        batch[f"{side}_parsing"] = P.one_hot(labels)
        batch[f"{side}_pose"] = pose_disks(batch[f"{side}_keypoints"], tuple(labels.shape[-2:]), pose_radius)
    return batch
