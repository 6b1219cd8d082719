"""The versioned HDF5 layout of a packed pair dataset (``posewarp pack``), and its checked reader.

Schema version 1 (one file per dataset; N images, M pairs per split)::

    /                     root attributes
        format            "posewarp-pairs"
        schema_version    1 (int); a reader refuses any other version with a clear message
        posewarp_version  the posewarp that wrote the file
        state             "partial" while packing, "complete" once renamed to its final name
        created           UTC time of creation (ISO 8601)
        image_size        [H, W] of every image and label map
        image_encoding    "raw" or "jpeg"
        label_set         "cihp" (the 20 LIP/CIHP labels; names in label_names)
        label_names       JSON list of the 20 label names, id order
        num_labels        20
        keypoint_format   "coco18" (OpenPose COCO-18 order, x, y, confidence in pixels; missing = 0, 0, 0)
        num_images        N
        num_written       images written so far (== N when complete; what --resume continues from)
        creation_args     JSON of the pack arguments (inputs, size, fit, encode, splits)
        num_processed, num_excluded, plan_digest
                          pack bookkeeping: items handled, items left out, and a hash of the arguments and
                          names that --resume checks before continuing
    /images               raw:  (N, H, W, 3) uint8 RGB, one chunk per image, uncompressed
                          jpeg: (N,) variable-length uint8, the JPEG bytes of each image
    /parsing              (N, H, W) uint8 label ids < 20, one gzip chunk per map;
                          attributes label_pixels (20,) and label_images (20,) int64: pixel and image counts
    /keypoints            (N, 18, 3) float32 x, y, confidence in image pixels; missing = 0, 0, 0
    /names                (N,) UTF-8 strings: the image names relative to --images (e.g. "id0003_pose02.png")
    /pairs/<split>        (M, 2) int32 rows (source, target) of indices into the arrays above;
                          attributes source (the pairs CSV) and dropped (pairs left out)
    /excluded             (K, 2) UTF-8 strings (name, reason): items left out at pack time and why

Rows of images, parsing, keypoints and names line up. With ``--size`` the stored images, labels and
keypoints are already transformed (reference/preprocessing.md B: DeepFashion 256x256 -> 256x176 is
a centre crop with x shifted by -40). Storage follows reference/ecosystem.md section 2: one chunk per
sample, compressed label maps, files opened lazily in every reader process.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import h5py

from posewarp import __version__
from posewarp.errors import PosewarpError, SchemaError

FORMAT = "posewarp-pairs"
SCHEMA_VERSION = 1
KEYPOINT_FORMAT = "coco18"
LABEL_SET = "cihp"
ENCODINGS = ("raw", "jpeg")

PARTIAL = "partial"
COMPLETE = "complete"


def partial_path(out: str | os.PathLike) -> Path:
    """Where a pack in progress is written before it is renamed to ``out``."""
    out = Path(out)
    return out.with_name(out.name + ".partial")


def check_attrs(attrs, path: str | os.PathLike) -> None:
    """Raise a clear error unless ``attrs`` describe a complete file of this schema version."""
    if attrs.get("format") != FORMAT:
        raise SchemaError(f"not a posewarp pair dataset (no format={FORMAT!r} attribute); make one with `posewarp pack`", path)
    version = int(attrs.get("schema_version", -1))
    if version > SCHEMA_VERSION:
        raise SchemaError(
            f"written with data schema version {version}, but posewarp {__version__} reads version {SCHEMA_VERSION}; "
            "upgrade posewarp to read it",
            path,
        )
    if version != SCHEMA_VERSION:
        raise SchemaError(
            f"written with old data schema version {version}; posewarp {__version__} reads version {SCHEMA_VERSION}; "
            "re-pack it with `posewarp pack`",
            path,
        )
    if attrs.get("state") != COMPLETE:
        raise SchemaError("an unfinished pack (interrupted?); finish it with `posewarp pack ... --resume`", path)


def open_file(path: str | os.PathLike, locking: bool | None = None) -> h5py.File:
    """Open a packed dataset read-only after checking its format, schema version and state.

    ``locking=False`` turns HDF5 file locking off (needed on some NFS/Lustre mounts); None keeps
    the HDF5 default (and ``HDF5_USE_FILE_LOCKING``).
    """
    path = Path(path)
    if not path.is_file():
        raise PosewarpError("file not found", path)
    kwargs = {} if locking is None else {"locking": locking}
    try:
        f = h5py.File(path, "r", **kwargs)
    except OSError as exc:
        raise PosewarpError(f"not a readable HDF5 file ({exc})", path) from None
    try:
        check_attrs(f.attrs, path)
    except BaseException:
        f.close()
        raise
    return f


def text(value) -> str:
    """An HDF5 string attribute or element as ``str``."""
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def json_attr(attrs, key: str, default=None):
    value = attrs.get(key)
    return default if value is None else json.loads(text(value))


def image_size(attrs) -> tuple[int, int]:
    h, w = (int(v) for v in attrs["image_size"])
    return h, w
