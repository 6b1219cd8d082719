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
    /image_crc32          jpeg only: (N,) uint32 CRC-32 of each image's bytes (HDF5 filters do not cover
                          variable-length data)
    /parsing              (N, H, W) uint8 label ids < 20, one gzip chunk per map;
                          attributes label_pixels (20,) and label_images (20,) int64: pixel and image counts
    /keypoints            (N, 18, 3) float32 x, y, confidence in image pixels; missing = 0, 0, 0
    /names                (N,) UTF-8 strings: the image names relative to --images (e.g. "id0003_pose02.png")
    /pairs/<split>        (M, 2) int32 rows (source, target) of indices into the arrays above;
                          attributes source (the pairs CSV) and dropped (pairs left out)
    /excluded             (K, 2) UTF-8 strings (name, reason): items left out at pack time and why

Rows of images, parsing, keypoints and names line up. Every fixed-size dataset carries HDF5's ``fletcher32``
checksum on each chunk (files from before it have none and still read): a damaged chunk fails on read and is
reported with its row. A reader checks every attribute's type, every dataset's shape and every pair index
(``check_layout``, ``read_pairs``) before it uses them. With ``--size`` the stored images, labels and
keypoints are already transformed (reference/preprocessing.md B: DeepFashion 256x256 -> 256x176 is
a centre crop with x shifted by -40). Storage follows reference/ecosystem.md section 2: one chunk per
sample, compressed label maps, files opened lazily in every reader process.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import h5py
import numpy as np

from posewarp import __version__
from posewarp.errors import PosewarpError, SchemaError
from posewarp.limits import MAX_SIDE  # an image_size beyond it is a damaged or hostile file, not a dataset

FORMAT = "posewarp-pairs"
SCHEMA_VERSION = 1
KEYPOINT_FORMAT = "coco18"
LABEL_SET = "cihp"
ENCODINGS = ("raw", "jpeg")

PARTIAL = "partial"
COMPLETE = "complete"


def partial_path(out: str | os.PathLike) -> Path:
    """Where a pack in progress is written before it is renamed to ``out``: ``DATA.h5.partial``, or for a name
    too long to take the suffix, the name cut short plus a hash of it (the same every time, for --resume)."""
    from posewarp.formats.outputs import name_max

    out = Path(out)
    name = out.name + ".partial"
    folder = out.parent if out.parent.is_dir() else Path(".")
    if len(os.fsencode(name)) <= name_max(folder):
        return out.with_name(name)
    digest = hashlib.sha256(os.fsencode(out.name)).hexdigest()[:12]
    keep = os.fsencode(out.name)[: name_max(folder) - len(".partial") - 13].decode("utf-8", "ignore")
    return out.with_name(f"{keep}~{digest}.partial")


def _int_attr(attrs, key: str, path) -> int:
    value = attrs.get(key)
    if isinstance(value, np.ndarray) and value.shape == ():
        value = value[()]
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise SchemaError(f"attribute {key!r} must be an integer, got {_show(value)}", path)
    return int(value)


def _show(value) -> str:
    return "nothing" if value is None else f"{type(value).__name__} {str(value)[:40]!r}"


def check_attrs(attrs, path: str | os.PathLike) -> None:
    """Raise a clear error unless ``attrs`` describe a complete file of this schema version."""
    if _text_or_none(attrs.get("format")) != FORMAT:
        raise SchemaError(f"not a posewarp pair dataset (no format={FORMAT!r} attribute); make one with `posewarp pack`", path)
    version = _int_attr(attrs, "schema_version", path)
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
    if _text_or_none(attrs.get("state")) != COMPLETE:
        raise SchemaError("an unfinished pack (interrupted?); finish it with `posewarp pack ... --resume`", path)


def _text_or_none(value) -> str | None:
    try:
        return text(value) if isinstance(value, (str, bytes, np.str_, np.bytes_)) else None
    except UnicodeDecodeError:
        return None


def _dataset(f, key: str, path) -> h5py.Dataset:
    obj = f.get(key)
    if not isinstance(obj, h5py.Dataset):
        raise SchemaError(f"{key!r} is missing or not a dataset; re-pack the file", path)
    return obj


def check_layout(f: h5py.File, path: str | os.PathLike) -> None:
    """Every dataset, group and attribute a reader uses exists with the type and shape of schema version 1."""
    a = f.attrs
    size = a.get("image_size")
    if not (isinstance(size, np.ndarray) and size.shape == (2,) and np.issubdtype(size.dtype, np.integer)
            and 1 <= size.min() and size.max() <= MAX_SIDE):  # fmt: skip
        raise SchemaError(f"attribute 'image_size' must be [height, width] in 1..{MAX_SIDE}, got {_show(size)}", path)
    h, w = (int(v) for v in size)
    encoding = _text_or_none(a.get("image_encoding"))
    if encoding not in ENCODINGS:
        raise SchemaError(f"attribute 'image_encoding' must be one of {', '.join(ENCODINGS)}, got {_show(encoding)}", path)
    n = _int_attr(a, "num_images", path)
    expected = {
        "images": ((n, h, w, 3), np.uint8) if encoding == "raw" else ((n,), None),
        "parsing": ((n, h, w), np.uint8),
        "keypoints": ((n, 18, 3), np.floating),
        "names": ((n,), None),
    }
    for key, (shape, dtype) in expected.items():
        ds = _dataset(f, key, path)
        if ds.shape != shape or (dtype is not None and not np.issubdtype(ds.dtype, dtype)):
            raise SchemaError(f"{key!r} is {ds.dtype} {ds.shape}, expected {shape} for {n} images of {h}x{w}; "
                              "re-pack the file", path)  # fmt: skip
    excluded = _dataset(f, "excluded", path)
    if excluded.ndim != 2 or excluded.shape[1] != 2:
        raise SchemaError(f"'excluded' is {excluded.shape}, expected (K, 2)", path)
    pairs = f.get("pairs")
    if not isinstance(pairs, h5py.Group):
        raise SchemaError("the 'pairs' group is missing; re-pack the file", path)
    for split, ds in pairs.items():
        if not isinstance(ds, h5py.Dataset) or ds.ndim != 2 or ds.shape[1] != 2 or not np.issubdtype(ds.dtype, np.integer):
            raise SchemaError(f"pairs/{split} must be (M, 2) integers, got {_show(ds)}", path)
    for key in ("label_pixels", "label_images"):
        value = f["parsing"].attrs.get(key)
        if not (isinstance(value, np.ndarray) and value.shape == (20,) and np.issubdtype(value.dtype, np.integer)):
            raise SchemaError(f"parsing attribute {key!r} must be 20 integers, got {_show(value)}", path)


def read_pairs(f: h5py.File, split: str, path: str | os.PathLike) -> np.ndarray:
    """``(M, 2)`` int64 pair indices of ``split``, each checked to name a packed image."""
    rows = np.asarray(f["pairs"][split][:], np.int64).reshape(-1, 2)
    n = int(f.attrs["num_images"])
    if len(rows) and (rows.min() < 0 or rows.max() >= n):
        bad = int(np.argmax((rows < 0).any(1) | (rows >= n).any(1)))
        raise SchemaError(f"pairs/{split} row {bad} is {rows[bad].tolist()}, but there are {n} images; re-pack the file", path)
    return rows


def open_file(path: str | os.PathLike, locking: bool | None = None) -> h5py.File:
    """Open a packed dataset read-only after checking its format, schema version, state and layout.

    ``locking=False`` turns HDF5 file locking off (needed on some NFS/Lustre mounts); None keeps
    the HDF5 default (and ``HDF5_USE_FILE_LOCKING``).
    """
    path = Path(path)
    if not path.is_file():
        raise PosewarpError("file not found" if not path.exists() else "not a regular file", path)
    kwargs = {} if locking is None else {"locking": locking}
    try:
        f = h5py.File(path, "r", **kwargs)
    except OSError as exc:
        raise PosewarpError(f"not a readable HDF5 file ({exc})", path) from None
    try:
        check_attrs(f.attrs, path)
        check_layout(f, path)
    except BaseException:
        f.close()
        raise
    return f


def damaged(what: str, path: str | os.PathLike, exc: BaseException | None = None) -> SchemaError:
    """The error for data that fails its checksum or decompression (``fletcher32``, gzip, CRC-32)."""
    detail = f" ({str(exc).splitlines()[0]})" if exc is not None and str(exc) else ""
    return SchemaError(f"{what} is damaged{detail}: the file is corrupt; re-pack it", path)


def text(value) -> str:
    """An HDF5 string attribute or element as ``str``."""
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def json_attr(attrs, key: str, default=None):
    value = attrs.get(key)
    if value is None:
        return default
    from posewarp.formats import jsonfile

    return jsonfile.loads(text(value))


def image_size(attrs) -> tuple[int, int]:
    h, w = (int(v) for v in attrs["image_size"])
    return h, w
