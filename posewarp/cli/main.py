"""Entry point: registers the commands and keeps the promise of one line per failure.

``PosewarpError`` (bad input, unwritable output) and any other ``OSError`` become ``error: PATH: what``
and exit code 1 (2 for a ``UsageError``: options that contradict each other, such as an output given as one of
the inputs); Ctrl-C exits 130 after saying what was kept and how to continue; usage errors exit 2 (Typer);
``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import os
import sys

# Each import registers its commands on `app` (one module per command).
from posewarp.cli import commands  # noqa: F401,E402
from posewarp.cli.app import app, state
from posewarp.errors import PosewarpError, UsageError
from posewarp.interrupt import note_of


def one_line(text: str) -> str:
    """An error message as one line (an error re-raised from a DataLoader worker carries its traceback)."""
    lines = [line.strip() for line in str(text).splitlines() if line.strip()]
    if len(lines) <= 1:
        return lines[0] if lines else ""
    last = lines[-1]
    return last.split(": ", 1)[1] if last.startswith(("posewarp.errors.", "PosewarpError")) else last


def _os_message(exc: OSError) -> str:
    what = exc.strerror or str(exc)
    return f"{exc.filename}: {what}" if exc.filename is not None else what


def _exit_past_a_broken_hdf5(code: int) -> None:
    """After HDF5 failed to close a file on a full disk, its exit handler would crash the process (exit 139)
    after the one-line error; the .partial on disk is already what --resume needs, so leave without it."""
    partial_file = sys.modules.get("posewarp.data.partial_file")
    if partial_file is not None and partial_file.HDF5_BROKEN["value"]:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else list(argv)
    try:
        app(args=args, prog_name="posewarp")
    except (PosewarpError, OSError) as exc:
        if state["debug"]:
            raise
        message = str(exc) if isinstance(exc, PosewarpError) else _os_message(exc)
        print(f"error: {one_line(message)}", file=sys.stderr)
        code = 2 if isinstance(exc, UsageError) else 1
        _exit_past_a_broken_hdf5(code)
        sys.exit(code)
    except MemoryError:
        if state["debug"]:
            raise
        print("error: out of memory (the process's limit, `ulimit -v`, or the machine's); lower --batch-size or "
              "--workers where the command has them, or raise the limit", file=sys.stderr)  # fmt: skip
        _exit_past_a_broken_hdf5(1)
        sys.exit(1)
    except SystemExit as exc:
        if exc.code == 130:
            print(f"interrupted: {note_of(exc) or 'stopped by Ctrl-C'}", file=sys.stderr)
        raise
