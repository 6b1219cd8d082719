"""The unfinished ``DATA.h5.partial`` of ``posewarp pack``: its lock, its resume, and the disk space it needs.

* :func:`exclusive` holds an advisory lock on the .partial for the whole pack, so a second pack to the same
  output refuses instead of truncating the first one's file (the lock dies with its process);
* :func:`open_for_resume` reopens it for ``--resume`` and drops the rows of a batch that was being written;
* :func:`check_space` stops before a batch that would not fit on the disk, and a :class:`Reserve` of held-back
  space is released if HDF5 meets a full disk all the same, so that it can still close the .partial cleanly:
  either way the .partial resumes once space is freed, and the error is one line (:func:`hdf5_failure`).
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import os
import re
import sys
import traceback
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


def hdf5_failure(exc: BaseException, partial: Path) -> PosewarpError:
    """One line for an HDF5 failure on the .partial: a system error (full disk, lost mount) is an ``OutputError``
    to fix and resume; HDF5's own (a damaged structure) means starting afresh."""
    code = exc.errno if isinstance(exc, OSError) and isinstance(exc.errno, int) else None
    match = re.search(r"errno = (\d+)", str(exc))  # h5py raises RuntimeError for a failed flush
    if code is None and match:
        code = int(match.group(1))
    if code is not None:
        return resumable(outputs.os_error(OSError(code, os.strerror(code)), partial))
    reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return PosewarpError(f"HDF5 cannot use this unfinished file ({reason}); run again without --resume", partial)


def resumable(exc: OutputError) -> OutputError:
    return OutputError(f"{exc.message}; then add --resume to continue from the .partial file", exc.path)


@contextlib.contextmanager
def quiet_h5py():
    """Hide the 'Exception ignored' tracebacks h5py prints when it cannot release an object of a failing file (a
    full disk gives dozens); the error the write itself raises is the one reported. Others pass through."""
    hook, excepthook = sys.unraisablehook, sys.excepthook

    def unraisable(info):
        if "h5py" not in repr(getattr(info, "object", "")) and "h5py" not in str(info.err_msg or ""):
            hook(info)

    def printed(kind, value, tb):  # Cython prints the traceback of an ignored exception through sys.excepthook
        if not any("h5py" in frame.filename for frame in traceback.extract_tb(tb)):
            excepthook(kind, value, tb)

    sys.unraisablehook, sys.excepthook = unraisable, printed
    try:
        yield
    finally:
        gc.collect()  # release what the failure left behind while the filters are still on
        sys.unraisablehook, sys.excepthook = hook, excepthook


# Set when HDF5 could not close a file after a failed write: its library state is then broken and its own exit
# handler crashes (SIGSEGV/SIGBUS) trying to flush the file again, so the CLI ends the process without it.
HDF5_BROKEN = {"value": False}


def close_quietly(f) -> None:
    if f is not None:
        try:
            f.close()
        except Exception:  # noqa: BLE001 - the file is already failing; the first error is the one to report
            HDF5_BROKEN["value"] = True


class Reserve:
    """Disk space held back for HDF5: if a write meets a full disk anyway (another process filled it since the
    check), releasing this lets HDF5 flush and close the .partial consistently (resumable), where it would
    otherwise leave it unreadable and crash at exit (HDF5 2.0, exit 139)."""

    def __init__(self, partial: Path):
        digest = hashlib.sha256(os.fsencode(partial.name)).hexdigest()[:12]
        self.path = partial.with_name(f".{digest}.pack-reserve")

    def hold(self) -> None:
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0), 0o600)
            try:
                if hasattr(os, "posix_fallocate"):
                    os.posix_fallocate(fd, 0, RESERVE)
                else:
                    os.write(fd, bytes(RESERVE))
            finally:
                os.close(fd)
        except OSError as exc:
            self.release()
            raise outputs.os_error(exc, self.path.parent) from None

    def release(self) -> None:
        self.path.unlink(missing_ok=True)


@contextlib.contextmanager
def exclusive(partial: Path):
    """Hold an exclusive lock on ``partial`` (created empty if missing) and the disk :class:`Reserve` while
    packing: a second pack to the same output refuses instead of truncating the first one's file. The lock dies
    with the process."""
    try:
        partial.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(partial, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0), 0o666)
    except OSError as exc:
        raise outputs.os_error(exc, partial) from None
    reserve = Reserve(partial)
    try:
        if fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise PosewarpError("another `posewarp pack` is writing this file; wait for it to finish (or stop it) "
                                    "and run again", partial) from None  # fmt: skip
        reserve.hold()
        yield reserve
    finally:
        reserve.release()
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


SPACE_MARGIN = 1 << 20  # bytes left free beyond a batch's estimate (HDF5 metadata, other writers)
RESERVE = 1 << 20  # bytes of the Reserve (an HDF5 close writes kilobytes of metadata)


def free_bytes(folder: Path) -> int | None:
    """Bytes free for this user in ``folder``'s file system (None where the file system does not say)."""
    try:
        st = os.statvfs(folder)
    except (OSError, AttributeError):
        return None
    return st.f_bavail * st.f_frsize if st.f_blocks else None


def batch_bytes(batch: list, bad: list[tuple[str, str]], hw: tuple[int, int]) -> int:
    """About how many bytes a batch of items adds to the file (raw or JPEG images, label maps, names)."""
    h, w = hw
    images = sum(len(it.jpeg) if it.jpeg is not None else 3 * h * w for it in batch)
    return images + len(batch) * (h * w + 512) + sum(len(a) + len(b) for a, b in bad)


def check_space(f, need: int, items: int = 0) -> None:
    """Stop with a resumable .partial before a write of about ``need`` bytes that would not fit on the disk:
    HDF5 meeting a full disk mid-write can leave its file unusable or crash (HDF5 2.0 segfaults in some
    flushes), so it is never knowingly asked to."""
    need += SPACE_MARGIN
    free = free_bytes(Path(f.filename).parent)
    if free is not None and free < need:
        what = f"the next {items} images" if items else "the pairs"
        raise OutputError(f"cannot write: no space left on the device ({free / 2**20:.1f} MiB free, {what} need "
                          f"about {need / 2**20:.1f} MiB); free some space", f.filename)


def from_hdf5(exc: BaseException) -> bool:
    """Whether ``exc`` was raised inside h5py (not by the code reading the inputs)."""
    return any("h5py" in frame.filename for frame in traceback.extract_tb(exc.__traceback__))
