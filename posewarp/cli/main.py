"""Entry point: registers the commands and turns a ``PosewarpError`` into one line and exit code 1.

Typer gives the rest: 0 ok, 2 a usage error, 130 Ctrl-C.
"""

from __future__ import annotations

import sys

from posewarp.cli.app import app, state
from posewarp.errors import PosewarpError

# Each import registers its commands on `app` (one module per command).
from posewarp.cli import commands  # noqa: F401,E402


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else list(argv)
    try:
        app(args=args, prog_name="posewarp")
    except PosewarpError as exc:
        if state["debug"]:
            raise
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(1)
