"""Content fingerprints for the FID statistics cache: what the cached numbers were computed from.

A cache entry is valid only for the same network weights and the same real images. Names, sizes or
modification times cannot tell two weight files of one size apart, so both are identified by the
sha256 of their bytes (a loaded module by the sha256 of its parameters and buffers). Hashes of files
are remembered within the process by (path, size, mtime), so one run reads each file's bytes once.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from posewarp.errors import PosewarpError
from posewarp.formats.input_file import open_input

_CHUNK = 1 << 20
_seen: dict[tuple[str, int, int], str] = {}


def file_sha256(path: str | os.PathLike) -> str:
    """sha256 of a regular file's bytes, read in chunks."""
    with open_input(path) as f:  # regular files only (a FIFO would block); missing files raise PosewarpError
        st = os.fstat(f.fileno())
        key = (str(Path(path).resolve()), st.st_size, st.st_mtime_ns)
        if key in _seen:
            return _seen[key]
        h = hashlib.sha256()
        try:
            for block in iter(lambda: f.read(_CHUNK), b""):
                h.update(block)
        except OSError as exc:
            raise PosewarpError(f"cannot read: {exc.strerror or exc}", path) from None
    _seen[key] = h.hexdigest()
    return _seen[key]


def module_sha256(module) -> str:
    """sha256 of a ``torch.nn.Module``'s class name and every parameter and buffer (names, dtypes, shapes,
    values)."""
    import torch

    h = hashlib.sha256(type(module).__qualname__.encode())
    for name, tensor in sorted(module.state_dict().items()):
        t = tensor.detach().cpu().contiguous()
        h.update(f"\0{name}\0{t.dtype}\0{tuple(t.shape)}\0".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return h.hexdigest()


def images_sha256(folder: str | os.PathLike, files: list[Path]) -> str:
    """One sha256 over every image's path relative to ``folder`` and the sha256 of its bytes, in order."""
    folder = Path(folder).resolve()
    h = hashlib.sha256()
    for f in files:
        h.update(f"{Path(f).resolve().relative_to(folder).as_posix()}\0{file_sha256(f)}\n".encode())
    return h.hexdigest()
