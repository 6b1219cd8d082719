"""``posewarp pack``: many loose files -> one versioned HDF5 file per dataset (layout in schema.py).

Every image named by a pairs CSV is read, checked (sources.py) and, with ``size``, fitted together
with its label map and keypoints (formats/geometry.py). Unfit items are left out and reported
(``strict`` makes the first one an error). The file is written as ``<out>.partial``, flushed after
every batch with a ``num_written`` count, and renamed to ``out`` only when complete, so an interrupted
pack never leaves a file that looks finished and ``resume=True`` continues where it stopped
(reference/ecosystem.md section 2).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import time
import zlib
from datetime import datetime, timezone
from pathlib import Path

import h5py
import numpy as np

from posewarp import __version__
from posewarp.console import progress
from posewarp.data import partial_file, schema
from posewarp.data.report import PackReport
from posewarp.data.sources import Inputs, Item, check_name
from posewarp.errors import OutputError, PosewarpError
from posewarp.formats import clashes, outputs
from posewarp.formats.geometry import FIT_MODES
from posewarp.formats.images import encode_image, read_image
from posewarp.formats.keypoints import NUM_KEYPOINTS, read_pairs_csv
from posewarp.formats.parsing import LABEL_SETS, NUM_LABELS, label_path_for
from posewarp.interrupt import graceful

BATCH = 32  # items per flush: what an interruption can lose
JPEG_QUALITY = 95


def split_name(pairs_csv: str | os.PathLike) -> str:
    """The split a pairs file becomes: ``fasion-resize-pairs-train.csv`` -> ``train``, ``val.csv`` -> ``val``."""
    stem = Path(pairs_csv).stem
    m = re.search(r"pairs[-_.](.+)$", stem)
    return m.group(1) if m else stem


def _split_names(pairs: list[Path], splits: list[str] | None) -> list[str]:
    if splits is not None and len(splits) != len(pairs):
        raise PosewarpError(f"{len(splits)} split names for {len(pairs)} pairs files; give one --split per --pairs")
    names = list(splits) if splits is not None else [split_name(p) for p in pairs]
    for name in names:
        if not name or "/" in name or name in (".", ".."):
            raise PosewarpError(f"split name {name!r} is not usable; name it with --split")
    if len(set(names)) != len(names):
        raise PosewarpError(f"two pairs files give the same split name ({', '.join(names)}); name them with --split")
    return names


def _storable(text: str) -> str:
    """``text`` as an HDF5 string can hold it (NUL bytes written as ``\\x00``)."""
    return text.replace("\x00", "\\x00")


def _reason(exc: PosewarpError, name: str) -> str:
    return exc.message if exc.path in (None, name) else f"{exc.message} ({exc.path})"


def pack(
    images: str | os.PathLike,
    keypoints: str | os.PathLike,
    parsing: str | os.PathLike,
    pairs: list[Path],
    out: str | os.PathLike,
    *,
    splits: list[str] | None = None,
    size: tuple[int, int] | None = None,
    fit: str = "crop",
    encode: str = "raw",
    strict: bool = False,
    resume: bool = False,
    show_progress: bool = True,
    pose_format: str = "auto",
    person: int | None = None,
) -> PackReport:
    """Pack the images named by ``pairs`` (one split per CSV) into ``out``; see schema.py for the layout.

    ``pose_format`` and ``person`` say how to read ``keypoints`` (``keypoints.read_poses``, ``choose_person``)."""
    start = time.perf_counter()
    out = Path(out)
    pairs = [Path(p) for p in pairs]
    if not pairs:
        raise PosewarpError("no pairs file given (--pairs FILE.csv)")
    if encode not in schema.ENCODINGS:
        raise PosewarpError(f"unknown image encoding {encode!r}; use one of {', '.join(schema.ENCODINGS)}")
    if fit not in FIT_MODES:
        raise PosewarpError(f"unknown fit mode {fit!r}; use one of {', '.join(FIT_MODES)}")
    if size is not None:
        size = (int(size[0]), int(size[1]))
        if min(size) <= 0:
            raise PosewarpError(f"--size must be positive, got {size[0]}x{size[1]}")
    split_names = _split_names(pairs, splits)
    outputs.check_file(out)
    places = clashes.Places()
    places.read(keypoints, "--keypoints", option=True)
    for p in pairs:
        places.read(p, "--pairs", option=True)
    places.write(out, "--out", option=True)
    places.write(schema.partial_path(out), "--out's unfinished file", option=True)
    inputs = Inputs(images, keypoints, parsing, pose_format, person)
    split_pairs = {name: read_pairs_csv(p) for name, p in zip(split_names, pairs)}
    candidates = sorted({n for rows in split_pairs.values() for pair in rows for n in pair})
    for n in candidates:  # the images and label maps it reads (a name refused later is left out here)
        if check_name(n) is None:
            places.read(Path(images) / n, "an input image")
            places.read(label_path_for(n, parsing), "an input label map")
    if strict:
        for n in candidates:
            if check_name(n):
                raise PosewarpError(f"{check_name(n)} (--strict)", n)
    args = {
        "images": str(Path(images).resolve()),
        "keypoints": str(Path(keypoints).resolve()),
        "parsing": str(Path(parsing).resolve()),
        "pairs": [str(p.resolve()) for p in pairs],
        "splits": split_names,
        "size": list(size) if size else None,
        "fit": fit,
        "encode": encode,
        "pose_format": pose_format,
        "person": person,
    }
    digest = hashlib.sha256(json.dumps({"args": args, "names": candidates}).encode()).hexdigest()

    partial = schema.partial_path(out)
    with partial_file.exclusive(partial) as reserve, partial_file.quiet_h5py():
        f = partial_file.open_for_resume(partial, resume, digest)
        try:
            if f is None:
                hw = size or _first_size(inputs, candidates)
                f = _create(partial, hw, encode, args, digest)
            resumed_from = int(f.attrs["num_processed"])
            hw = schema.image_size(f.attrs)
            packed = {"done": resumed_from}
            note = (lambda: f"{packed['done']} of {len(candidates)} images are packed in {partial}; run the same "
                    "command with --resume to finish it")  # fmt: skip
            with graceful(note, what="this image") as stop:
                _process(f, inputs, candidates, hw, fit if size else None, encode, strict, show_progress, stop, packed)
            excluded = [(schema.text(a), schema.text(b)) for a, b in f["excluded"][:]]
            partial_file.check_space(f, 8 * sum(len(rows) for rows in split_pairs.values()))
            split_counts, dropped = _write_pairs(f, split_pairs, pairs, excluded)
            num_images = int(f.attrs["num_written"])
            f.attrs["num_images"] = num_images
            f.attrs["state"] = schema.COMPLETE
            f.flush()  # a full disk fails here, where HDF5 can still close the file after the reserve is released
            f.close()
        except (OSError, RuntimeError) as exc:  # HDF5 could not write (a full disk despite the check, a lost mount)
            if not partial_file.from_hdf5(exc):
                raise
            reserve.release()  # room for HDF5 to close the file consistently
            partial_file.close_quietly(f)
            raise partial_file.hdf5_failure(exc, partial) from None
        except BaseException as exc:
            partial_file.close_quietly(f)
            if (strict and isinstance(exc, PosewarpError)) or partial.stat().st_size == 0:
                partial.unlink(missing_ok=True)  # nothing worth resuming
            if isinstance(exc, OutputError):
                raise partial_file.resumable(exc) from None
            raise
        try:
            os.replace(partial, out)
        except OSError as exc:
            raise partial_file.resumable(outputs.os_error(exc, out)) from None
    return PackReport(
        out=out,
        image_size=hw,
        encoding=encode,
        num_images=num_images,
        splits=split_counts,
        excluded=excluded,
        dropped_pairs=dropped,
        resumed_from=resumed_from,
        packed_now=len(candidates) - resumed_from,
        seconds=time.perf_counter() - start,
        file_bytes=out.stat().st_size,
        keypoint_note=inputs.keypoints.note(),
    )


def _first_size(inputs: Inputs, candidates: list[str]) -> tuple[int, int]:
    """Without ``--size`` the dataset takes the size of the first readable image."""
    for name in candidates:
        if check_name(name):
            continue
        try:
            return tuple(read_image(inputs.images / name).shape[:2])  # type: ignore[return-value]
        except PosewarpError:
            continue
    raise PosewarpError("none of the images named by the pairs files could be read", inputs.images)


def _create(partial: Path, hw: tuple[int, int], encode: str, args: dict, digest: str) -> h5py.File:
    h, w = hw
    f = h5py.File(partial, "w", locking=False)  # the caller holds the lock
    a = f.attrs
    a["format"] = schema.FORMAT
    a["schema_version"] = schema.SCHEMA_VERSION
    a["posewarp_version"] = __version__
    a["state"] = schema.PARTIAL
    a["created"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
    a["image_size"] = np.array([h, w], np.int64)
    a["image_encoding"] = encode
    a["label_set"] = schema.LABEL_SET
    a["label_names"] = json.dumps(list(LABEL_SETS[schema.LABEL_SET]))
    a["num_labels"] = NUM_LABELS
    a["keypoint_format"] = schema.KEYPOINT_FORMAT
    a["creation_args"] = json.dumps(args)
    a["plan_digest"] = digest
    a["num_images"] = 0
    a["num_written"] = 0
    a["num_processed"] = 0
    a["num_excluded"] = 0
    check = {"fletcher32": True}  # every chunk carries a checksum: a damaged one fails loudly on read
    if encode == "raw":
        f.create_dataset("images", (0, h, w, 3), np.uint8, maxshape=(None, h, w, 3), chunks=(1, h, w, 3), **check)
    else:  # HDF5 filters do not cover variable-length data: a CRC-32 per image instead
        f.create_dataset("images", (0,), h5py.vlen_dtype(np.uint8), maxshape=(None,), chunks=(64,))
        f.create_dataset("image_crc32", (0,), np.uint32, maxshape=(None,), chunks=(256,), **check)
    f["images"].attrs["encoding"] = encode
    parsing = f.create_dataset(
        "parsing", (0, h, w), np.uint8, maxshape=(None, h, w), chunks=(1, h, w), compression="gzip", compression_opts=4,
        **check,
    )
    parsing.attrs["label_pixels"] = np.zeros(NUM_LABELS, np.int64)
    parsing.attrs["label_images"] = np.zeros(NUM_LABELS, np.int64)
    kp_shape = (NUM_KEYPOINTS, 3)
    f.create_dataset("keypoints", (0, *kp_shape), np.float32, maxshape=(None, *kp_shape), chunks=(256, *kp_shape),
                     **check)
    f.create_dataset("names", (0,), h5py.string_dtype(), maxshape=(None,), chunks=(256,))
    f.create_dataset("excluded", (0, 2), h5py.string_dtype(), maxshape=(None, 2), chunks=(64, 2))
    f.flush()
    return f


def _process(f, inputs, candidates, hw, fit, encode, strict, show_progress, stop, packed: dict) -> None:
    """Load, check and append every candidate not yet processed, flushing after each batch (and before
    stopping for Ctrl-C, so that nothing read is lost)."""
    done = int(f.attrs["num_processed"])
    batch: list[Item] = []
    bad: list[tuple[str, str]] = []

    def flush(upto: int) -> None:
        partial_file.check_space(f, partial_file.batch_bytes(batch, bad, hw), len(batch))
        _append(f, batch, bad, encode)
        f.attrs["num_processed"] = upto
        f.flush()
        packed["done"] = upto
        batch.clear()
        bad.clear()

    with progress() if show_progress else contextlib.nullcontext() as bar:
        task = bar.add_task("packing", total=len(candidates), completed=done, info="") if bar else None
        for k in range(done, len(candidates)):
            if stop.requested:
                flush(k)
                stop.check()
            name = candidates[k]
            try:
                item = inputs.load(name, hw if fit else None, fit or "crop", keep_jpeg=encode == "jpeg")
                if item.rgb.shape[:2] != hw:
                    h, w = item.rgb.shape[:2]
                    raise PosewarpError(f"image is {h}x{w} but the dataset is {hw[0]}x{hw[1]}; fit all with --size HxW")
            except PosewarpError as exc:
                if strict:
                    raise PosewarpError(f"{_reason(exc, name)} (--strict)", name) from None
                bad.append((_storable(name), _storable(_reason(exc, name))))
            else:
                batch.append(item)
            if len(batch) >= BATCH or len(bad) >= BATCH or k == len(candidates) - 1:
                flush(k + 1)
            if bar:
                bar.update(task, advance=1, info=f"{len(f['excluded']) + len(bad)} excluded")


def _append(f, batch: list[Item], bad: list[tuple[str, str]], encode: str) -> None:
    n, k = int(f.attrs["num_written"]), len(batch)
    if k:
        for key in partial_file.row_datasets(f):
            f[key].resize(n + k, axis=0)
        if encode == "raw":
            f["images"][n : n + k] = np.stack([it.rgb for it in batch])
        else:
            data = np.empty(k, dtype=object)
            for i, it in enumerate(batch):
                jpeg = it.jpeg if it.jpeg is not None else encode_image(it.rgb, ".jpg", JPEG_QUALITY)
                data[i] = np.frombuffer(jpeg, np.uint8)
            f["images"][n : n + k] = data
            f["image_crc32"][n : n + k] = [zlib.crc32(d.tobytes()) for d in data]
        labels = np.stack([it.labels for it in batch])
        f["parsing"][n : n + k] = labels
        f["keypoints"][n : n + k] = np.stack([it.keypoints for it in batch]).astype(np.float32)
        f["names"][n : n + k] = [it.name for it in batch]
        counts = np.stack([np.bincount(lab.ravel(), minlength=NUM_LABELS) for lab in labels])
        a = f["parsing"].attrs
        a["label_pixels"] = a["label_pixels"] + counts.sum(0)
        a["label_images"] = a["label_images"] + (counts > 0).sum(0)
    if bad:
        m = int(f.attrs["num_excluded"])
        f["excluded"].resize(m + len(bad), axis=0)
        f["excluded"][m:] = np.array(bad, dtype=object)
        f.attrs["num_excluded"] = m + len(bad)
    f.attrs["num_written"] = n + k


def _write_pairs(f, split_pairs, pairs_files, excluded):
    """``pairs/<split>`` as (M, 2) int32 rows; pairs naming an unpacked image are dropped and reported, and a pair
    given again in the same split is kept once and reported (it would count twice in training and scores)."""
    index = {schema.text(n): i for i, n in enumerate(f["names"][:])}
    why = dict(excluded)
    group = f.create_group("pairs")
    counts, dropped = {}, []
    for (split, rows), source in zip(split_pairs.items(), pairs_files):
        kept, seen = [], set()
        for a, b in rows:
            if (a, b) in seen:
                dropped.append((split, a, b, "the same pair again in this split; kept once"))
                continue
            seen.add((a, b))
            missing = [n for n in (a, b) if n not in index]
            if missing:
                n = missing[0]
                role = "source" if n == a else "target"
                dropped.append((split, a, b, f"{role} {n!r} not packed: {why.get(n, 'unknown')}"))
                continue
            kept.append((index[a], index[b]))
        ds = group.create_dataset(split, data=np.array(kept, np.int32).reshape(-1, 2), fletcher32=bool(kept))
        ds.attrs["source"] = str(Path(source).resolve())
        ds.attrs["dropped"] = len(rows) - len(kept)
        counts[split] = len(kept)
    return counts, dropped
