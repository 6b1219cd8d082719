"""The unfinished ``DATA.h5.partial`` of ``posewarp pack``: its lock, its resume, and the disk space it needs.

* :func:`exclusive` holds an advisory lock on the .partial for the whole pack, so a second pack to the same
  output refuses instead of truncating the first one's file (the lock dies with its process);
* :func:`open_for_resume` reopens it for ``--resume`` and drops the rows of a batch that was being written;
* :func:`check_space` stops before a batch that would not fit on the disk: HDF5 meeting a full disk in the
  middle of a flush leaves a file it cannot reopen, so it is never asked to; the .partial then resumes once
  space is freed. An ``OSError`` HDF5 still meets becomes one line (:func:`hdf5_os_error`).
"""

from __future__ import annotations

import contextlib
import os
import re
from pathlib import Path

import h5py

from posewarp.data import schema
from posewarp.errors import OutputError, PosewarpError
from posewarp.formats import outputs

try:
    import fcntl
except ImportError:  # Windows: no advisory locks
    fcntl = None

ROW_DATASETS = ("images", "parsing", "keypoints", "names")


def hdf5_os_error(exc: BaseException) -> OSError | None:
    """The ``OSError`` behind an HDF5 failure (h5py raises a RuntimeError naming the errno when a flush fails)."""
    if isinstance(exc, OSError):
        return exc
    match = re.search(r"errno = (\d+), error message = '([^']*)'", str(exc))
    return OSError(int(match.group(1)), match.group(2)) if match else None


def resumable(exc: OutputError) -> OutputError:
    return OutputError(f"{exc.message}; then add --resume to continue from the .partial file", exc.path)


def close_quietly(f) -> None:
    if f is not None:
        try:
            f.close()
        except Exception:  # noqa: BLE001 - the file is already failing; the first error is the one to report
            pass


@contextlib.contextmanager
def exclusive(partial: Path):
    """Hold an exclusive lock on ``partial`` (created empty if missing) while packing: a second pack to the
    same output refuses instead of truncating the first one's file. The lock dies with the process."""
    try:
        partial.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(partial, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0), 0o666)
    except OSError as exc:
        raise outputs.os_error(exc, partial) from None
    try:
        if fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise PosewarpError("another `posewarp pack` is writing this file; wait for it to finish (or stop it) "
                                    "and run again", partial) from None  # fmt: skip
        yield
    finally:
        os.close(fd)


def open_for_resume(partial: Path, resume: bool, digest: str) -> h5py.File | None:
    """The unfinished file to continue (``resume``), or None to start afresh (the locked file is then
    truncated in place when it is created again, never unlinked, so the lock keeps guarding the path)."""
    if not resume or partial.stat().st_size == 0:
        return None
    f = None
    try:
        f = h5py.File(partial, "a", locking=False)
        if f.attrs.get("state") != schema.PARTIAL or f.attrs.get("plan_digest") != digest:
            f.close()
            raise PosewarpError("this unfinished pack was made from other inputs or options; run again without "
                                "--resume", partial)  # fmt: skip
        n = int(f.attrs["num_written"])
        for key in row_datasets(f):  # drop rows of a batch that was being written when it stopped
            f[key].resize(n, axis=0)
        f["excluded"].resize(int(f.attrs["num_excluded"]), axis=0)
        if "pairs" in f:
            del f["pairs"]
    except (OSError, RuntimeError, KeyError, ValueError, TypeError) as exc:
        close_quietly(f)
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise PosewarpError(f"cannot resume from a damaged partial file ({reason}); run again without --resume",
                            partial) from None  # fmt: skip
    return f


def row_datasets(f) -> tuple[str, ...]:
    return ROW_DATASETS + (("image_crc32",) if "image_crc32" in f else ())


SPACE_MARGIN = 4 << 20  # bytes kept free for HDF5's own metadata, so that a flush never meets a full disk


def free_bytes(folder: Path) -> int | None:
    """Bytes free for this user in ``folder``'s file system (None where the file system does not say)."""
    try:
        st = os.statvfs(folder)
    except (OSError, AttributeError):
        return None
    return st.f_bavail * st.f_frsize if st.f_blocks else None


def check_space(f, batch: list, bad: list[tuple[str, str]], hw: tuple[int, int]) -> None:
    """Stop with a resumable .partial before a batch that would not fit on the disk: HDF5 meeting a full disk
    mid-write can leave its file unusable (or crash), so it is never asked to."""
    h, w = hw
    need = sum(len(it.jpeg) if it.jpeg is not None else 3 * h * w for it in batch) + len(batch) * (h * w + 512)
    need += sum(len(a) + len(b) for a, b in bad) + SPACE_MARGIN
    folder = Path(f.filename).parent
    free = free_bytes(folder)
    if free is not None and free < need:
        raise OutputError(f"cannot write: no space left on the device ({free / 2**20:.1f} MiB free, the next "
                          f"{len(batch)} images need about {need / 2**20:.1f} MiB); free some space", f.filename)
