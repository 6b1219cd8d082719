"""Numbers read from files, checked before numpy sees them: JSON numbers only, of a size a float holds.

``np.asarray(values, float)`` would read the string ``"103.5"`` and ``true`` as numbers, and raise
``OverflowError`` on a 401-digit integer; :func:`number_array` refuses each of them in one line naming the file.
(A JSON number too large for a float, ``1e400``, is parsed as infinity and refused where the values are
checked for NaN and infinity.)
"""

from __future__ import annotations

import os

import numpy as np

from posewarp.errors import PosewarpError

MAX_INT_BITS = 64  # an integer keypoint, size or id beyond 2**64 is a broken file


def _describe(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def check_number(value: object, what: str, path: str | os.PathLike | None = None) -> float:
    """``value`` as a float if it is a JSON number (not a string, not a boolean, not an integer too long)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise PosewarpError(f"{what}: {_describe(value)} is not a number", path)
    if isinstance(value, int) and value.bit_length() > MAX_INT_BITS:
        raise PosewarpError(f"{what}: an integer of {value.bit_length()} bits is too large for any coordinate", path)
    return float(value)


def number_array(values: object, what: str, path: str | os.PathLike | None = None) -> np.ndarray:
    """Nested lists (or tuples) of JSON numbers as a float64 array; anything else raises naming ``path``."""
    stack = [values]
    while stack:
        value = stack.pop()
        if isinstance(value, (list, tuple)):
            stack.extend(value)
        else:
            check_number(value, what, path)
    try:
        return np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise PosewarpError(f"{what}: keypoint lists of uneven lengths", path) from None


def check_size(value: object, what: str, path: str | os.PathLike | None = None, most: int = 1_000_000) -> int:
    """An image width or height recorded in a file: a whole number (``640`` or ``640.0``) from 1 to ``most``."""
    whole = isinstance(value, int) or (isinstance(value, float) and value.is_integer())
    if isinstance(value, bool) or not whole or not 1 <= value <= most:
        raise PosewarpError(f"{what} must be a whole number of pixels from 1 to {most:,}, got {_describe(value)}",
                            path)  # fmt: skip
    return int(value)


def check_id(value: object, what: str, path: str | os.PathLike | None = None) -> int | str:
    """An id that names a record (MS COCO ``id``/``image_id``): an integer or a string, never a list or object."""
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise PosewarpError(f"{what} must be an integer or a string, got {_describe(value)}", path)
    if isinstance(value, int) and value.bit_length() > MAX_INT_BITS:
        raise PosewarpError(f"{what}: an integer of {value.bit_length()} bits is too large for an id", path)
    return value
