"""Opening input files safely: regular files only, bounded in size, decoded as UTF-8 text, split as CSV.

A FIFO is opened without blocking and refused, a device (``/dev/zero``, or a link to one) is refused before a
byte is read, and a file larger than the limit (``posewarp.limits``) is refused before it is read, so a bad
item among thousands is reported in one line instead of hanging or exhausting the run.
"""

from __future__ import annotations

import csv
import io
import os
import stat
from pathlib import Path
from typing import BinaryIO

from posewarp import limits
from posewarp.errors import PosewarpError

_KINDS = ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISCHR, "a character device"),
          (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))  # fmt: skip


def open_input(path: str | os.PathLike) -> BinaryIO:
    """Open ``path`` for binary reading; anything but an existing regular file raises ``PosewarpError``."""
    if "\x00" in os.fspath(path):
        raise PosewarpError("the file name contains a NUL byte", repr(os.fspath(path)))
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        kind = "a broken link" if Path(path).is_symlink() else None
        raise PosewarpError(f"file not found ({kind})" if kind else "file not found", path) from None
    except OSError as exc:
        raise PosewarpError(f"cannot read: {exc.strerror or exc}", path) from None
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        kind = next((name for test, name in _KINDS if test(mode)), "not a regular file")
        raise PosewarpError(f"is {kind}, not a regular file", path)
    os.set_blocking(fd, True)
    return os.fdopen(fd, "rb")


CHUNK = 1 << 20  # bytes read at a time: memory grows with what the file holds, never with the limit


def read_bytes(path: str | os.PathLike, limit: str = "file_bytes") -> bytes:
    """The whole content of a regular file of at most ``limits.get(limit)`` bytes, read in chunks so that only
    what the file holds is allocated (``f.read(limit)`` would reserve the whole limit, 1 GiB, for every file:
    a ``MemoryError`` under ``ulimit -v``); a file that grows past the limit while it is read is refused too."""
    most = int(limits.get(limit))
    with open_input(path) as f:
        size = os.fstat(f.fileno()).st_size
        chunks, total = [], 0
        try:
            while size <= most and total <= most:
                block = f.read(min(CHUNK, most + 1 - total))
                if not block:
                    break
                chunks.append(block)
                total += len(block)
        except OSError as exc:
            raise PosewarpError(f"cannot read: {exc.strerror or exc}", path) from None
    if size > most or total > most:
        raise PosewarpError(f"file is {max(size, total):,} bytes, over the limit of {most:,} "
                            f"({limits.hint(limit)})", path)  # fmt: skip
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def read_text(path: str | os.PathLike, limit: str = "file_bytes") -> str:
    """A UTF-8 text file (a leading byte-order mark is dropped) of at most ``limits.get(limit)`` bytes."""
    data = read_bytes(path, limit)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise PosewarpError(f"not a UTF-8 text file (byte {exc.start})", path) from None


def csv_rows(text: str, path: str | os.PathLike | None = None, delimiter: str = ",") -> list[tuple[int, list[str]]]:
    """``(line number, fields)`` of CSV text; quoted fields may hold delimiters and line breaks, and a
    malformed row (an overlong field, a stray quote) raises ``PosewarpError`` naming the file and line."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows = []
    try:
        for row in reader:
            rows.append((reader.line_num, row))
    except csv.Error as exc:
        raise PosewarpError(f"line {reader.line_num}: not valid CSV ({exc})", path) from None
    return rows
