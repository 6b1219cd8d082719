"""Atomic file writes: write a temp file next to the target, then ``os.replace`` it into place.

A crash or Ctrl-C never leaves a half-written output behind, a failed write (full disk, read-only folder)
leaves no temp file and becomes one line naming the output (``outputs.os_error``), and temp names are
shortened so that they never exceed the file system's name limit.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from posewarp.formats.outputs import name_max, os_error

_UMASK = os.umask(0o022)
os.umask(_UMASK)
_RANDOM = 8  # characters mkstemp adds


def temp_affixes(path: Path, suffix: str) -> tuple[str, str]:
    """``(prefix, suffix)`` of a temp name ``.<name>.XXXXXXXX.tmp<suffix>`` that fits the folder's name limit."""
    tail = f".tmp{suffix}"
    room = name_max(path.parent) - _RANDOM - len(os.fsencode(tail)) - 2
    name = os.fsencode(path.name)[: max(room, 1)].decode("utf-8", "ignore") or "x"
    return f".{name}.", tail


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path in the target's folder; on success it replaces ``path``.

    Any ``OSError`` (creating the folder or the temp file, the caller's writes, the final rename) becomes an
    ``OutputError`` naming ``path``; the temp file is removed in every case.
    """
    path = Path(path)
    suffix = path.suffix if suffix is None else suffix
    tmp_path = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        prefix, tail = temp_affixes(path, suffix)
        fd, tmp = tempfile.mkstemp(prefix=prefix, suffix=tail, dir=path.parent)
        tmp_path = Path(tmp)
        os.fchmod(fd, 0o666 & ~_UMASK)  # mkstemp makes 0600 files; outputs get the usual permissions
        os.close(fd)
        yield tmp_path
        os.replace(tmp_path, path)
    except OSError as exc:
        raise os_error(exc, path) from None
    finally:
        if tmp_path is not None and tmp_path.exists():
            tmp_path.unlink()


def write_bytes(path: str | os.PathLike, data: bytes) -> None:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def write_text(path: str | os.PathLike, text: str) -> None:
    write_bytes(path, text.encode("utf-8"))
