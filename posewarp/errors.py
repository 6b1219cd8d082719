"""User-facing errors: one clear line, exit code 1 (a traceback only with ``--debug``)."""

from __future__ import annotations

import os


class PosewarpError(Exception):
    """A problem with the user's input or environment, reported as one line naming the file."""

    def __init__(self, message: str, path: str | os.PathLike | None = None):
        self.path = None if path is None else os.fspath(path)
        self.message = message
        super().__init__(f"{self.path}: {message}" if self.path else message)


class UsageError(PosewarpError):
    """Options that contradict each other (two outputs, or an output and an input, given as the same file):
    one line and exit code 2, as any other usage error."""


class WeightsMissingError(PosewarpError):
    """A pretrained file is not on disk; the message names the command that downloads it."""


class SchemaError(PosewarpError):
    """A data file was written by another (usually newer) schema version."""


class OutputError(PosewarpError):
    """An output cannot be written (read-only, full disk, a folder in the way): it stops a whole batch job,
    since every later item would fail the same way; what was written before stays complete."""


def few(names, show: int = 3) -> str:
    """The first ``show`` names quoted, and how many more: ``'a.jpg', 'b.jpg', 'c.jpg' and 7 more``."""
    names = list(names)
    more = f" and {len(names) - show} more" if len(names) > show else ""
    return ", ".join(repr(n) for n in names[:show]) + more
