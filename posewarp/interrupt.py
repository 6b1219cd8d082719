"""Ctrl-C in long commands: stop soon, keep what is done, say how to continue, exit 130.

A long loop runs inside ``with graceful(note) as stop:`` and calls ``stop.check()`` between items; after a
Ctrl-C that raises :class:`Interrupted` carrying ``note()`` (what is kept and how to resume), which the CLI
prints before it exits with code 130. Two ways to stop:

* ``immediate=True`` (network-bound batch jobs, evaluation, downloads): the first Ctrl-C raises at once,
  wherever the main thread is; safe where every output is written atomically and an unfinished item is
  simply redone by the next run;
* otherwise the first Ctrl-C only sets a flag that the loop checks between items (``pack``: a
  ``KeyboardInterrupt`` raised inside h5py is swallowed by its callbacks, and an HDF5 write must not be
  torn), and a second Ctrl-C raises at once.

A process started with SIGINT ignored keeps ignoring it.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable, Iterator


class Interrupted(KeyboardInterrupt):
    """Ctrl-C stopped a command; ``note`` says what is kept and how to continue."""

    def __init__(self, note: str):
        super().__init__(note)
        self.note = note


class Stop:
    """Set by the first Ctrl-C inside :func:`graceful`; loops call :meth:`check` between items."""

    def __init__(self, note: Callable[[], str]) -> None:
        self.requested = False
        self.note = note

    def check(self) -> None:
        if self.requested:
            raise Interrupted(self.note())


@contextlib.contextmanager
def graceful(note: Callable[[], str], *, immediate: bool = False, what: str = "the current item") -> Iterator[Stop]:
    """Within the block Ctrl-C stops the work as described above; ``note()`` is called when it does."""
    stop = Stop(note)
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return
    previous = signal.getsignal(signal.SIGINT)
    if previous is signal.SIG_IGN:
        yield stop
        return

    def handler(signum, frame):
        if stop.requested or immediate:
            stop.requested = True
            raise Interrupted(note())
        stop.requested = True
        from posewarp.console import err

        err.print(f"[yellow]Ctrl-C: stopping after {what} (press it again to stop at once)[/yellow]")

    signal.signal(signal.SIGINT, handler)
    try:
        yield stop
    finally:
        signal.signal(signal.SIGINT, previous)


def note_of(exc: BaseException | None) -> str | None:
    """The note of the :class:`Interrupted` behind ``exc`` (its cause or context chain), if any."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, Interrupted):
            return exc.note
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return None
