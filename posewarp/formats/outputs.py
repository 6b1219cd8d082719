"""Output paths: checked before the work, and every ``OSError`` on them turned into one line naming the path.

``check_file`` and ``check_folder`` run when a command starts: an output that is a folder (or a file where a
folder is wanted), a parent that is a file, a read-only or unwritable place, a name longer than the file
system allows all fail before any work is done. ``os_error`` words an ``OSError`` met while writing (a full
disk, a quota, a read-only mount) as an :class:`~posewarp.errors.OutputError` that says what to do next.
"""

from __future__ import annotations

import errno
import os
import tempfile
from pathlib import Path

from posewarp.errors import OutputError

NAME_MAX = 255  # bytes of one path component on Linux, macOS and Windows file systems

_NEXT = {
    errno.ENOSPC: "no space left on the device; free some space and run the same command again",
    errno.EDQUOT: "disk quota exceeded; free some space and run the same command again",
    errno.EROFS: "the file system is read-only; choose another output",
    errno.EACCES: "permission denied; choose another output",
    errno.EPERM: "permission denied; choose another output",
    errno.ENAMETOOLONG: "the name is too long for this file system; choose a shorter one",
    errno.EISDIR: "it is a folder; give a file name",
    errno.ENOTDIR: "a part of the path is a file, not a folder",
    errno.EEXIST: "it exists and is not a folder",
}


def os_error(exc: OSError, path: str | os.PathLike) -> OutputError:
    """The one-line error for an ``OSError`` met while writing ``path``."""
    code = exc.errno if isinstance(exc.errno, int) else None
    reason = _NEXT.get(code) or (exc.strerror or str(exc) or type(exc).__name__)
    return OutputError(f"cannot write: {reason}", path)


def name_max(folder: str | os.PathLike) -> int:
    """The longest file name (in bytes) that ``folder``'s file system takes."""
    try:
        return int(os.pathconf(folder, "PC_NAME_MAX"))
    except (OSError, ValueError, AttributeError):
        return NAME_MAX


def _existing_ancestor(path: Path) -> Path:
    path = Path(os.path.abspath(path))
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def _check_writable_folder(folder: Path, path: Path) -> None:
    """Fail unless a file can be created in ``folder`` (the first existing ancestor of ``path``'s folder)."""
    if not folder.is_dir():
        raise OutputError(f"cannot write: {folder} is a file, not a folder", path)
    try:
        fd, probe = tempfile.mkstemp(prefix=".posewarp-probe-", dir=folder)
    except OSError as exc:
        raise os_error(exc, path) from None
    os.close(fd)
    os.unlink(probe)


def _check_name(path: Path) -> None:
    name = os.fsencode(path.name)
    most = name_max(_existing_ancestor(path.parent))
    if len(name) > most:
        raise OutputError(f"cannot write: the name is {len(name)} bytes, this file system takes at most {most}", path)


def check_file(path: str | os.PathLike) -> Path:
    """Before the work: ``path`` can be written as a file (created with its missing parent folders)."""
    path = Path(path)
    _check_name(path)
    if path.is_dir():
        raise OutputError("cannot write: it is a folder; give a file name", path)
    if path.exists() and not path.is_file():
        raise OutputError("cannot write: it exists and is not a regular file", path)
    _check_writable_folder(_existing_ancestor(path.parent), path)
    return path


def check_folder(path: str | os.PathLike) -> Path:
    """Before the work: ``path`` is (or can be created as) a folder that files can be written in."""
    path = Path(path)
    _check_name(path)
    if path.exists() and not path.is_dir():
        raise OutputError("cannot write: it exists and is not a folder", path)
    _check_writable_folder(_existing_ancestor(path), path)
    return path
