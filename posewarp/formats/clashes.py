"""Inputs are never overwritten, and no output overwrites another: every path a command reads or writes, compared
before any work.

A command registers each input it will read (the files named on the command line, files it finds by itself such
as ``parsing/<stem>.png`` beside an image, the images of a folder, a tree's list files) and each output it will
write (files, per-item files, folders it fills) in one :class:`Places`. Paths are compared as the file system sees
them: through symbolic links (``realpath``), and by inode for files that exist (a hard link is the same file).
A clash raises one line naming both paths and what each is: a :class:`~posewarp.errors.UsageError` (exit 2)
when both were given as options, else an :class:`~posewarp.errors.OutputError` (exit 1).
"""

from __future__ import annotations

import os

from posewarp.errors import OutputError, UsageError

Key = tuple


class Places:
    """The inputs and outputs of one command; adding one that is the same file as another raises."""

    def __init__(self) -> None:
        self._inputs: dict[Key, tuple[str, str, bool]] = {}
        self._outputs: dict[Key, tuple[str, str, bool]] = {}
        self._folders: dict[str, str] = {}  # folder -> its realpath (a folder of 10^5 images is resolved once)

    def key(self, path: str | os.PathLike) -> Key:
        """What identifies ``path``'s file: its inode if it exists, else its resolved path."""
        path = os.path.abspath(os.fspath(path))
        try:
            st = os.stat(path)
            return ("inode", st.st_dev, st.st_ino)
        except (OSError, ValueError):
            pass
        if os.path.islink(path):  # a dangling link: writing through it creates its target
            return ("path", os.path.realpath(path))
        folder, name = os.path.split(path)
        if folder not in self._folders:
            self._folders[folder] = os.path.realpath(folder)
        return ("path", os.path.join(self._folders[folder], name))

    def read(self, path: str | os.PathLike | None, label: str, *, option: bool = False) -> None:
        """``path`` is read by the command (``label`` says what it is: ``--src-parsing``, ``the source image``)."""
        if path is None:
            return
        key = self.key(path)
        if key in self._outputs:
            self._clash(self._outputs[key], (label, os.fspath(path), option), "input")
        self._inputs.setdefault(key, (label, os.fspath(path), option))

    def write(self, path: str | os.PathLike | None, label: str, *, option: bool = False) -> None:
        """``path`` is written by the command (a file, or a folder it fills)."""
        if path is None:
            return
        key, mine = self.key(path), (label, os.fspath(path), option)
        if key in self._inputs:
            self._clash(mine, self._inputs[key], "input")
        if key in self._outputs and self._outputs[key][:2] != mine[:2]:
            self._clash(mine, self._outputs[key], "output")
        self._outputs.setdefault(key, mine)

    @staticmethod
    def _clash(output: tuple[str, str, bool], other: tuple[str, str, bool], kind: str) -> None:
        (label, path, option), (other_label, other_path, other_option) = output, other
        same = "the same file as" if kind == "output" else "also"
        message = (f"cannot write {label}: it is {same} {other_label} ({other_path})"
                   + ("" if kind == "output" else ", an input that would be overwritten")
                   + f"; choose another {label if option else 'output'}")  # fmt: skip
        raise (UsageError if option and other_option else OutputError)(message, path)
