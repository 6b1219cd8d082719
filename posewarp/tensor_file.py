"""Reading a pretrained PyTorch file safely: ``torch.load(weights_only=True)``, memory-mapped when possible.

Files from the internet must not be able to run code, so nothing here unpickles arbitrary objects; any
failure (missing file, damaged zip, refused pickle global) becomes one ``PosewarpError`` naming the file.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

from posewarp.errors import PosewarpError


def read_tensor_file(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> object:
    """The object stored in a weights file (usually a dict of tensors), loaded with ``weights_only=True``.

    Zip-format files are memory-mapped (no copy of a 200 MB file before the weights are assigned); the
    legacy pre-zip format of many 2019 checkpoints cannot be, and is read normally.
    """
    path = Path(path)
    if not path.is_file():
        raise PosewarpError("weights file not found" if not path.exists() else "not a regular file", path)
    try:
        try:
            return torch.load(path, map_location=map_location, weights_only=True, mmap=True)
        except RuntimeError:
            return torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # noqa: BLE001 - pickle, zip and refused-global errors all mean "not loadable"
        reason = f"{type(exc).__name__}: {exc}".split("\n")[0]
        raise PosewarpError(f"cannot read as a PyTorch weights file ({reason})", path) from None


def _holds_tensors(value: object, depth: int = 0) -> bool:
    if isinstance(value, torch.Tensor):
        return True
    if isinstance(value, dict) and depth < 3:
        return any(_holds_tensors(v, depth + 1) for v in value.values())
    return False


def check_checkpoint(path: str | os.PathLike) -> None:
    """A downloaded file is a PyTorch checkpoint that holds tensors: not an HTML error page, not a truncated or
    foreign file. What a download without a known checksum is checked for before it is installed."""
    path = Path(path)
    with open(path, "rb") as f:
        head = f.read(512)
    text = head.lstrip().lower()
    if text.startswith((b"<!doctype", b"<html", b"<?xml", b"<head", b"<body", b"{\"error", b"{\"message")):
        raise PosewarpError(f"is a web page or error message ({head.lstrip()[:40]!r}...), not a PyTorch checkpoint: "
                            "the server answered with an error instead of the file", path)  # fmt: skip
    if not _holds_tensors(read_tensor_file(path)):
        raise PosewarpError("is a PyTorch file without tensors, not a checkpoint of weights", path)
