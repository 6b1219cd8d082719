"""Fetching one file into a resumable ``.part``: HTTP(S) with Range, or a ``file://`` mirror.

What a careful download keeps to:

* the ``.part`` is never followed if it is a link (``O_NOFOLLOW``) and a fresh one is created with ``O_EXCL``,
  so a planted symlink cannot make posewarp overwrite another file;
* the server's ``Content-Length`` is enforced: a connection that ends early keeps the ``.part`` (the next run
  resumes it with a Range request) and says so; a body longer than announced, or than the registry's size, is
  refused; a file of unknown size is capped at ``MAX_UNKNOWN_BYTES``;
* a local write error (full disk, read-only ``$POSEWARP_HOME``) is an ``OutputError`` naming the ``.part``,
  never mistaken for a network failure; after Ctrl-C the ``.part`` holds a prefix of the file, to resume.
"""

from __future__ import annotations

import errno
import os
import re
import stat
import urllib.parse
import urllib.request
from pathlib import Path

from posewarp.errors import PosewarpError
from posewarp.formats import outputs

CHUNK = 1 << 20
TIMEOUT_S = 60
MAX_UNKNOWN_BYTES = 8 << 30  # a registry file without a known size


class ShortRead(OSError):
    """The source ended before the announced length: the bytes received are kept for a resume."""


class TooLong(ValueError):
    """The source sent more than it announced (or than the registry's size): the ``.part`` is not trusted."""


def part_size(part: Path) -> int:
    """Bytes already in ``part`` (0 if absent); a link or anything but a regular file is refused."""
    try:
        st = os.lstat(part)
    except FileNotFoundError:
        return 0
    if stat.S_ISLNK(st.st_mode) or not stat.S_ISREG(st.st_mode):
        kind = "a symbolic link" if stat.S_ISLNK(st.st_mode) else "not a regular file"
        raise PosewarpError(f"is {kind}; posewarp never writes through it: remove it and run again", part)
    return st.st_size


def open_part(part: Path, offset: int):
    """The ``.part`` for appending at ``offset`` (> 0) or created afresh and exclusively (0)."""
    flags = os.O_WRONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        if offset:
            fd = os.open(part, flags | os.O_APPEND)
        else:
            if part_size(part) or part.exists():
                part.unlink()
            fd = os.open(part, flags | os.O_CREAT | os.O_EXCL, 0o644)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.EEXIST):
            raise PosewarpError("appeared as a link or by another download while opening it; run again", part) from None
        raise outputs.os_error(exc, part) from None
    return os.fdopen(fd, "ab" if offset else "wb", buffering=0)  # on disk at once: the .part is always the prefix


def fetch(url: str, part: Path, size: int | None, label: str, show_progress: bool) -> None:
    """Append the rest of ``url`` to ``part`` (Range resume over HTTP, seek for file://)."""
    offset = part_size(part)
    if size is not None and offset > size:
        offset = 0
    if size is not None and offset == size:
        return
    scheme = urllib.parse.urlparse(url).scheme
    if scheme == "file":
        source = Path(urllib.request.url2pathname(urllib.parse.urlparse(url).path))
        from posewarp.formats.input_file import open_input

        with open_input(source) as src:
            total = os.fstat(src.fileno()).st_size
            offset = offset if offset <= total else 0
            src.seek(offset)
            _copy(src, part, offset, total, size, label, show_progress)
        return
    if scheme not in ("http", "https"):
        raise ValueError(f"unsupported URL scheme {scheme!r} (use http, https or file)")
    request = urllib.request.Request(url, headers={"User-Agent": "posewarp"})
    if offset:
        request.add_header("Range", f"bytes={offset}-")
    try:
        response = urllib.request.urlopen(request, timeout=TIMEOUT_S)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and offset:  # nothing left to send: the .part is complete (checked by the caller)
            return
        raise
    with response:
        if offset and response.status == 206:
            match = re.match(r"bytes (\d+)-", response.headers.get("Content-Range", ""))
            if not match or int(match.group(1)) != offset:
                raise ValueError("server answered the resume request with the wrong range")
        else:
            offset = 0  # the server ignored Range: start over
        length = response.headers.get("Content-Length")
        try:
            total = offset + int(length) if length is not None else None
        except ValueError:
            raise ValueError(f"server sent a malformed Content-Length {length!r}") from None
        _copy(response, part, offset, total, size, label, show_progress)


def _copy(stream, part: Path, offset: int, total: int | None, size: int | None, label: str, show_progress: bool) -> None:
    """Copy ``stream`` to ``part`` from ``offset``; ``total`` is the announced end, ``size`` the registry's."""
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

    from posewarp.console import err

    if total is not None and size is not None and total != size:
        raise TooLong(f"server announces {total:,} bytes, the registry says {size:,}")
    most = total if total is not None else (size if size is not None else MAX_UNKNOWN_BYTES)
    done = offset
    columns = (TextColumn("[bold]{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn())
    with open_part(part, offset) as out, Progress(*columns, console=err, disable=not show_progress) as bar:
        task = bar.add_task(f"download {label}", total=total or size, completed=offset)
        read = getattr(stream, "read1", stream.read)  # whatever has arrived: a slow server still shows progress
        while True:
            block = read(min(CHUNK, most - done + 1))
            if not block:
                break
            if done + len(block) > most:
                raise TooLong(f"server sent more than the {most:,} bytes it announced")
            try:
                out.write(block)
            except OSError as exc:
                raise outputs.os_error(exc, part) from None
            done += len(block)
            bar.advance(task, len(block))
        try:
            out.flush()
            os.fsync(out.fileno())
        except OSError as exc:
            raise outputs.os_error(exc, part) from None
    if total is not None and done < total:
        raise ShortRead(f"the connection ended after {done:,} of {total:,} bytes")
